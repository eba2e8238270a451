/**
 * JSON text as Go's `encoding/json` writes it: compact, with `<`, `>`, `&`, U+2028 and U+2029
 * escaped as `\u003c`-style sequences. `JSON.stringify` already escapes control characters the same
 * way, so only these five differ. Used wherever Go peers compare or log our bytes.
 */
export function goJson(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return "null";
  return /[<>&\u2028\u2029]/.test(text) ? text.replace(/[<>&\u2028\u2029]/g, escapeChar) : text;
}

function escapeChar(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}
