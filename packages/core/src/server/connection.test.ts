import assert from "node:assert/strict";
import { test } from "node:test";
import { collectGarbage, watchMessages } from "@microts/testing";
import { MicroError } from "../errors/micro-error.js";
import { DeadlineTimer } from "../internal/deadline-timer.js";
import { silentLogger } from "../logger/logger.js";
import { Header } from "../rpc/headers.js";
import { createMemoryTransport } from "../transport/memory-transport.js";
import type { Message, Socket } from "../transport/transport.js";
import { ActiveRequests } from "./active-requests.js";
import { Connection, type ServingHost } from "./connection.js";
import { createHandler } from "./handler.js";
import { Inflight } from "./inflight.js";
import { Router } from "./router.js";

/** What a Connection needs from its server: a `greeter` service routed by `router`. */
function greeterHost(router: Router, stopped: boolean): ServingHost {
  return {
    serviceName: "greeter",
    router,
    logger: silentLogger,
    inflight: new Inflight(),
    active: new ActiveRequests(),
    deadlines: new DeadlineTimer(() => Number.POSITIVE_INFINITY),
    maxInFlight: 0,
    maxInFlightExempt: undefined,
    draining: false,
    stopped,
    handleEvent: async () => {},
  };
}

/** A Connection serving one memory-transport socket for a `Greeter.Hello` handler. */
async function serveGreeter(stopped: boolean) {
  const transport = createMemoryTransport();
  const listener = await transport.listen(":0");
  const client = await transport.dial(listener.address);
  const accepted = await listener[Symbol.asyncIterator]().next();
  const router = new Router({});
  const state = { ran: false };
  router.add(
    createHandler(
      {
        async hello() {
          state.ran = true;
          return {};
        },
      },
      { name: "Greeter" },
    ),
  );
  const host = greeterHost(router, stopped);
  const serving = new Connection(accepted.value, host).serve();
  const hello = (id: string) =>
    client.send({
      header: {
        [Header.Id]: id,
        [Header.Service]: "greeter",
        [Header.Endpoint]: "Greeter.Hello",
        [Header.ContentType]: "application/json",
      },
      body: new TextEncoder().encode("{}"),
    });
  const done = async () => {
    await client.close();
    await serving;
    await listener.close();
  };
  return { client, host, state, hello, done };
}

test("a request that arrives as the server stops gets a 503 at once and leaves nothing behind", async () => {
  const { client, host, state, hello, done } = await serveGreeter(true);
  await hello("1");
  const reply = await client.recv({ timeoutMs: 2_000 });
  assert.equal(reply.header[Header.Id], "1");
  const err = MicroError.parse(reply.header[Header.Error] ?? "");
  assert.equal(err.code, 503);
  assert.match(err.detail, /server stopped/);
  assert.equal(state.ran, false, "the handler never runs");
  assert.equal(host.inflight.count, 0);
  assert.equal(host.active.size, 0);
  await done();
});

test("the first reply of a connection, and only it, says the connection is multiplexed", async () => {
  const { client, hello, done } = await serveGreeter(false);
  await hello("1");
  const first = await client.recv({ timeoutMs: 2_000 });
  assert.equal(first.header[Header.Id], "1");
  assert.equal(first.header[Header.Multiplex], "1");
  await hello("2");
  const second = await client.recv({ timeoutMs: 2_000 });
  assert.equal(second.header[Header.Id], "2");
  assert.equal(second.header[Header.Multiplex], undefined);
  await done();
});

// As the client's read loop (see the pool's test): a connection that waits for its next request
// must not keep the last one alive, or idle keep-alive connections pretenure every request.
test("an idle connection keeps nothing of its last request", async () => {
  const transport = createMemoryTransport();
  const listener = await transport.listen(":0");
  const client = await transport.dial(listener.address);
  const accepted = (await listener[Symbol.asyncIterator]().next()).value as Socket;
  const requests: WeakRef<Message>[] = [];
  const watched = watchMessages(accepted, requests);
  const router = new Router({});
  router.add(
    createHandler(
      {
        async hello() {
          return {};
        },
      },
      { name: "Greeter" },
    ),
  );
  const host = greeterHost(router, false);
  const serving = new Connection(watched, host).serve();
  for (let i = 0; i < 3; i++) {
    await client.send({
      header: {
        [Header.Id]: String(i),
        [Header.Endpoint]: "Greeter.Hello",
        [Header.ContentType]: "application/json",
      },
      body: new TextEncoder().encode("{}"),
    });
    assert.equal((await client.recv()).header[Header.Id], String(i));
  }
  await collectGarbage();
  assert.deepEqual(
    requests.map((r) => r.deref() === undefined),
    [true, true, true],
    "every request can be collected while the connection waits for the next",
  );
  await client.close();
  await serving;
  await listener.close();
});
