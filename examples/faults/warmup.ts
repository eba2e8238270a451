import type { Client } from "@microts/core";
import type { GreeterResponse } from "./greeter-node.js";

/**
 * Calls `Greeter.Read` until answers came from `nodes` distinct nodes (the client's selector
 * knows them all), within `timeoutMs`. Returns the node ids seen.
 */
export async function warmUp(client: Client, service: string, nodes: number, timeoutMs = 15_000) {
  const seen = new Set<string>();
  const end = Date.now() + timeoutMs;
  for (let i = 0; seen.size < nodes && Date.now() < end; i++) {
    try {
      const r = await client.call<GreeterResponse>(service, "Greeter.Read", { id: `warm-${i}` });
      seen.add(r.node);
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return seen;
}
