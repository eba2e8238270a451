/**
 * Raw spans of JSON text, for envelopes whose payload must be passed on byte for byte (a body's
 * 64-bit integers would not survive `JSON.parse`). The text must already be valid JSON (check
 * with `JSON.parse` first); positions are UTF-16 indexes into it.
 */

/** [start, end) of one JSON value. */
export type Span = readonly [number, number];

/** The members of the top-level object of `text`, by key (the last duplicate wins, as JSON.parse). */
export function objectMembers(text: string): Map<string, Span> {
  const out = new Map<string, Span>();
  let i = skipWs(text, 0);
  if (text[i] !== "{") return out;
  i = skipWs(text, i + 1);
  while (i < text.length && text[i] !== "}") {
    const keyEnd = skipValue(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWs(text, skipWs(text, keyEnd) + 1); // past ':'
    const end = skipValue(text, i);
    out.set(key, [i, end]);
    i = skipWs(text, end);
    if (text[i] === ",") i = skipWs(text, i + 1);
  }
  return out;
}

/** The elements of the array at `span`. */
export function arrayElements(text: string, span: Span): Span[] {
  const out: Span[] = [];
  let i = skipWs(text, span[0]);
  if (text[i] !== "[") return out;
  i = skipWs(text, i + 1);
  while (i < span[1] && text[i] !== "]") {
    const end = skipValue(text, i);
    out.push([i, end]);
    i = skipWs(text, end);
    if (text[i] === ",") i = skipWs(text, i + 1);
  }
  return out;
}

function skipWs(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
    i++;
  }
  return i;
}

/** The index just past the value starting at `i`. */
function skipValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') {
    for (let j = i + 1; j < text.length; j++) {
      if (text[j] === "\\") j++;
      else if (text[j] === '"') return j + 1;
    }
    return text.length;
  }
  if (c === "{" || c === "[") {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text[j];
      if (d === '"') j = skipValue(text, j) - 1;
      else if (d === "{" || d === "[") depth++;
      else if (d === "}" || d === "]") {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return text.length;
  }
  let j = i;
  while (j < text.length && !",}] \t\n\r".includes(text[j] as string)) j++;
  return j;
}
