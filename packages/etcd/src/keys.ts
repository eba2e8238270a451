/** Go Micro's etcd key prefix. */
export const DEFAULT_PREFIX = "/micro/registry/";

/** A prefix ending in exactly one `/`. */
export function normalizePrefix(prefix: string): string {
  return `${prefix.replace(/\/+$/, "")}/`;
}

/** One key part as Go Micro writes it: every `/` replaced by `-` (`strings.Replace(s, "/", "-", -1)`). */
export function keyPart(s: string): string {
  return s.replaceAll("/", "-");
}

/** `<prefix><service>/<node>`: the key of one node (Go's `nodePath`). */
export function nodeKey(prefix: string, service: string, nodeId: string): string {
  return `${prefix}${keyPart(service)}/${keyPart(nodeId)}`;
}

/** `<prefix><service>/`: the prefix of every node of a service (Go's `servicePath(name) + "/"`). */
export function serviceKeyPrefix(prefix: string, service: string): string {
  return `${prefix}${keyPart(service)}/`;
}

/**
 * The `range_end` that makes a range cover every key starting with `prefix` (clientv3's
 * `GetPrefixRangeEnd`): the prefix with its last byte incremented, dropping trailing 0xff bytes.
 */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = Uint8Array.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  // All 0xff: the range runs to the end of the key space ("\0" means "no end" to etcd).
  return Uint8Array.of(0);
}

/** base64 of the UTF-8 bytes of `s` (the gateway's encoding of keys and values). */
export function b64(s: string | Uint8Array): string {
  return Buffer.from(typeof s === "string" ? Buffer.from(s, "utf8") : s).toString("base64");
}

/** The UTF-8 text of a base64 field (missing means empty, as in proto3 JSON). */
export function unb64(s: string | undefined): string {
  return s ? Buffer.from(s, "base64").toString("utf8") : "";
}
