import {
  type CallOptions,
  type Client,
  createClient,
  createMemoryRegistry,
  silentLogger,
} from "@microts/core";
import type { ClientDriver } from "../../lib/client-harness.js";
import { checkEcho, type EchoBody, echoBody } from "../../lib/payload.js";
import type { StackParts } from "./stack.js";

/**
 * The measuring side of a micro-ts stack: createClient calling the server's address directly
 * (`{ address }` skips the selector, so no registry cost is measured here).
 */
export async function microtsDriver(parts: StackParts, address: string): Promise<ClientDriver<EchoBody>> {
  const registry = createMemoryRegistry();
  const make = (): Client =>
    createClient({
      transport: parts.transport,
      registry,
      codecs: parts.codecs,
      contentType: parts.contentType,
      logger: silentLogger,
    });
  const client = make();
  const extra: Client[] = [];
  const echoOpts: CallOptions = { address, timeoutMs: 10_000, ...parts.echoTypes };
  const streamOpts: CallOptions = { address, timeoutMs: 30_000, ...parts.streamTypes };
  return {
    makeRequest: echoBody,
    unary: (req) => client.call("bench", "Bench.Echo", req, echoOpts),
    check: checkEcho,
    async stream(count, size) {
      const s = client.stream("bench", "Bench.Stream", { count, size }, streamOpts);
      let n = 0;
      try {
        for await (const _ of s) n++;
      } finally {
        await s.close();
      }
      return n;
    },
    async connect() {
      // A client of its own has a pool of its own: one more connection (session) on the server.
      const c = make();
      extra.push(c);
      checkEcho(echoBody(16), await c.call("bench", "Bench.Echo", echoBody(16), echoOpts));
    },
    async disconnect() {
      for (const c of extra.splice(0)) await c.close();
    },
    async close() {
      for (const c of extra) await c.close();
      await client.close();
      await parts.transport.close();
    },
  };
}
