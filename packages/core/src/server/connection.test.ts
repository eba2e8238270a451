import assert from "node:assert/strict";
import { test } from "node:test";
import { MicroError } from "../errors/micro-error.js";
import { silentLogger } from "../logger/logger.js";
import { Header } from "../rpc/headers.js";
import { createMemoryTransport } from "../transport/memory-transport.js";
import { Connection, type ServingHost } from "./connection.js";
import { createHandler } from "./handler.js";
import { Inflight } from "./inflight.js";
import type { RequestContext } from "./request-context.js";
import { Router } from "./router.js";

test("a request that arrives as the server stops gets a 503 at once and leaves nothing behind", async () => {
  const transport = createMemoryTransport();
  const listener = await transport.listen(":0");
  const client = await transport.dial(listener.address);
  const accepted = await listener[Symbol.asyncIterator]().next();
  const router = new Router({});
  let ran = false;
  router.add(
    createHandler(
      {
        async hello() {
          ran = true;
          return {};
        },
      },
      { name: "Greeter" },
    ),
  );
  const host: ServingHost = {
    serviceName: "greeter",
    router,
    logger: silentLogger,
    inflight: new Inflight(),
    active: new Set<RequestContext>(),
    maxInFlight: 0,
    maxInFlightExempt: undefined,
    draining: false,
    stopped: true,
    handleEvent: async () => {},
  };
  const serving = new Connection(accepted.value, host).serve();
  await client.send({
    header: {
      [Header.Id]: "1",
      [Header.Service]: "greeter",
      [Header.Endpoint]: "Greeter.Hello",
      [Header.ContentType]: "application/json",
    },
    body: new TextEncoder().encode("{}"),
  });
  const reply = await client.recv({ timeoutMs: 2_000 });
  assert.equal(reply.header[Header.Id], "1");
  const err = MicroError.parse(reply.header[Header.Error] ?? "");
  assert.equal(err.code, 503);
  assert.match(err.detail, /server stopped/);
  assert.equal(ran, false, "the handler never runs");
  assert.equal(host.inflight.count, 0);
  assert.equal(host.active.size, 0);
  await client.close();
  await serving;
  await listener.close();
});
