import { MicroError } from "@microts/core";

/** The address used when none is given: Go Micro's etcd default. */
export const DEFAULT_ADDRESS = "127.0.0.1:2379";

/**
 * Parses a registry address into gateway base URLs (`http://host:port`), in the order given.
 * Accepts `host`, `host:port`, `etcd://host:port`, `http://host:port`, `[::1]:2379`, and
 * comma-separated lists of those. The port defaults to 2379 (as Go Micro adds it when missing).
 * Throws MicroError 400 for an empty list, an unsupported scheme (`https://`: TLS is not
 * supported) or a malformed entry.
 */
export function parseEndpoints(address: string): string[] {
  const out: string[] = [];
  for (const raw of address.split(",")) {
    const entry = raw.trim();
    if (!entry) continue;
    const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(entry);
    const scheme = m?.[1]?.toLowerCase();
    if (scheme !== undefined && scheme !== "http" && scheme !== "etcd") {
      throw MicroError.badRequest(
        "go.micro.registry",
        `etcd address ${entry}: scheme ${scheme} not supported`,
      );
    }
    let url: URL;
    try {
      url = new URL(`http://${m ? entry.slice(m[0].length) : entry}`);
    } catch (cause) {
      throw MicroError.badRequest("go.micro.registry", `etcd address ${entry}: malformed`, { cause });
    }
    if (!url.hostname || (url.pathname !== "/" && url.pathname !== "")) {
      throw MicroError.badRequest("go.micro.registry", `etcd address ${entry}: expected host:port`);
    }
    out.push(`http://${url.hostname}:${url.port || "2379"}`);
  }
  if (out.length === 0) throw MicroError.badRequest("go.micro.registry", "etcd address: empty");
  return out;
}
