/** RFC 9110 token characters: what a header name may contain. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** True when `name` is a valid header field name (a non-empty token). */
export function isToken(name: string): boolean {
  return TOKEN.test(name);
}

const cache = new Map<string, string>();
const CACHE_LIMIT = 1024;

/**
 * Go's `textproto.CanonicalMIMEHeaderKey`: the first letter and every letter after a hyphen upper
 * case, the rest lower case (`micro-id` → `Micro-Id`). Returns "" for a name that is not a valid
 * header name (Go's `Header.Write` drops those). Results are memoised: the same few keys recur
 * on every message.
 */
export function canonicalKey(name: string): string {
  const hit = cache.get(name);
  if (hit !== undefined) return hit;
  let out = "";
  if (isToken(name)) {
    let s = "";
    let upper = true;
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      if (upper && c >= 97 && c <= 122) s += String.fromCharCode(c - 32);
      else if (!upper && c >= 65 && c <= 90) s += String.fromCharCode(c + 32);
      else s += name[i];
      upper = c === 45; // '-'
    }
    out = s;
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(name, out);
  return out;
}
