import assert from "node:assert/strict";
import type { Listener, Message, Socket, Transport } from "@microts/core";
import type { SkipRule, TestScope } from "./internal/suite.js";
import { defineSuite } from "./internal/suite.js";
import { patternBytes, rejectsWith, within } from "./internal/wait.js";

/** Options for {@link transportContract}. */
export interface TransportContractOptions {
  /** Returns a new transport; the suite closes it when the test ends. Dialer and listener share one. */
  create: () => Transport | Promise<Transport>;
  /** What the suite passes to `listen`: an any-port address such as `127.0.0.1:0` (`:0` for memory). */
  listenAddress: string;
  /** Runs once after the whole suite. Default: nothing. */
  cleanup?: () => unknown;
  /** Tests this transport cannot pass, with the reason. Default none. */
  skip?: SkipRule[];
}

const STEP_MS = 5_000;
const KiB = 1024;

/** A connected pair: the client's socket and the socket the listener accepted for it. */
interface Pair {
  transport: Transport;
  listener: Listener;
  client: Socket;
  server: Socket;
  accept: () => Promise<Socket>;
}

function msg(
  seq: number,
  body: Uint8Array = new Uint8Array(0),
  header: Record<string, string> = {},
): Message {
  return { header: { "X-Seq": String(seq), ...header }, body };
}

/** A header value looked up without regard to the case of its key (transports may canonicalise). */
function headerOf(m: Message, key: string): string | undefined {
  const want = key.toLowerCase();
  for (const [k, v] of Object.entries(m.header)) if (k.toLowerCase() === want) return v;
  return undefined;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

function assertMessage(got: Message, sent: Message, what: string): void {
  assert.ok(got.body instanceof Uint8Array, `${what}: body is a Uint8Array`);
  assert.ok(
    bytesEqual(got.body, sent.body),
    `${what}: body of ${got.body.byteLength} bytes differs from the ${sent.body.byteLength} sent`,
  );
  for (const [k, v] of Object.entries(sent.header)) {
    assert.equal(headerOf(got, k), v, `${what}: header ${JSON.stringify(k)}`);
  }
}

/**
 * The behaviour every {@link Transport} must show, as a node:test `describe` block named
 * `transport contract: <name>`: messages (headers, compared case-insensitively by key; bodies of
 * 0 B to 1 MiB) in order in both directions; concurrent `send`s that never interleave; several
 * clients per listener; either side's close ending the other's `recv` (MicroError 503) and
 * iteration; dial to a closed address rejecting 503 quickly; `recv` deadlines (408) and aborts
 * (499) that never hang and leave the socket usable; listener close ending the accept loop;
 * `closed` promises; `Symbol.asyncDispose`.
 *
 * The client always sends first: HTTP-like transports only hand the listener a socket once the
 * first message arrived. Sockets are dialled with `stream: true`, as the RPC client does.
 */
export function transportContract(name: string, options: TransportContractOptions): void {
  const open = async (scope: TestScope): Promise<Transport> => {
    const t = await options.create();
    scope.defer(() => t.close());
    return t;
  };
  const listen = async (scope: TestScope, t: Transport): Promise<Listener> => {
    const l = await within(t.listen(options.listenAddress), STEP_MS, "listen");
    scope.defer(() => l.close());
    return l;
  };
  const acceptor = (l: Listener) => {
    const it = l[Symbol.asyncIterator]();
    return async () => {
      const r = await within(it.next(), STEP_MS, "accept");
      assert.equal(r.done, false, "listener ended instead of accepting");
      return r.value as Socket;
    };
  };
  const dial = async (scope: TestScope, t: Transport, address: string): Promise<Socket> => {
    const s = await within(t.dial(address, { stream: true }), STEP_MS, `dial ${address}`);
    scope.defer(() => s.close());
    return s;
  };
  // Dials, sends a first message (so HTTP-like listeners see the connection) and accepts it.
  const connect = async (scope: TestScope): Promise<Pair> => {
    const transport = await open(scope);
    const listener = await listen(scope, transport);
    const accept = acceptor(listener);
    const client = await dial(scope, transport, listener.address);
    const hello = msg(-1, new Uint8Array([1, 2, 3]), { "X-Hello": "yes" });
    await within(client.send(hello), STEP_MS, "first send");
    const server = await accept();
    scope.defer(() => server.close());
    assertMessage(await within(server.recv(), STEP_MS, "first recv"), hello, "first message");
    return { transport, listener, client, server, accept };
  };

  defineSuite(
    `transport contract: ${name}`,
    [
      {
        name: "dial and listen: a message reaches the listener and a reply comes back",
        run: async (scope) => {
          const { listener, client, server } = await connect(scope);
          assert.ok(
            listener.address !== "" && !listener.address.endsWith(":0"),
            `real address: ${listener.address}`,
          );
          assert.ok(client.local !== "" && client.remote !== "", "client addresses set");
          assert.ok(server.local !== "" && server.remote !== "", "server addresses set");
          const reply = msg(0, new TextEncoder().encode("pong"), { "Content-Type": "text/plain" });
          await server.send(reply);
          assertMessage(await within(client.recv(), STEP_MS, "client recv"), reply, "reply");
        },
      },
      {
        name: "headers and binary bodies from 0 B to 1 MiB survive both directions",
        timeoutMs: 30_000,
        run: async (scope) => {
          const { client, server } = await connect(scope);
          const header: Record<string, string> = {
            "Micro-Service": "go.micro.srv.greeter",
            "Micro-Endpoint": "Greeter.Hello",
            "Content-Type": "application/octet-stream",
            "x-lower-case": "lower",
            "X-Value-With-Spaces": "a b  c",
          };
          for (let i = 0; i < 20; i++) header[`X-Extra-${i}`] = `v${i}`;
          const sizes = [0, 1, 64 * KiB, 1024 * KiB];
          for (const [i, size] of sizes.entries()) {
            const out = msg(i, patternBytes(size, i + 7), header);
            await within(client.send(out), STEP_MS, `send ${size} B`);
            assertMessage(
              await within(server.recv(), STEP_MS, `recv ${size} B`),
              out,
              `client→server ${size} B`,
            );
            const back = msg(i, patternBytes(size, i + 99), header);
            await within(server.send(back), STEP_MS, `reply ${size} B`);
            assertMessage(
              await within(client.recv(), STEP_MS, `recv reply ${size} B`),
              back,
              `server→client ${size} B`,
            );
          }
        },
      },
      {
        name: "tryRecv takes messages already queued, in order, mixed with recv",
        timeoutMs: 30_000,
        run: async (scope) => {
          const { client, server } = await connect(scope);
          assert.equal(typeof server.tryRecv, "function", "the socket has tryRecv (skip the test if not)");
          const tryRecv = () => server.tryRecv?.();
          assert.equal(tryRecv(), undefined, "nothing is queued yet");
          const n = 50;
          for (let i = 0; i < n; i++) await client.send(msg(i));
          const seqs = [headerOf(await server.recv({ timeoutMs: STEP_MS }), "X-Seq")];
          await new Promise((r) => setTimeout(r, 200)); // the rest arrive meanwhile (loopback)
          let atOnce = 0;
          const until = Date.now() + STEP_MS;
          while (seqs.length < n && Date.now() < until) {
            const m = tryRecv();
            if (m === undefined) {
              seqs.push(headerOf(await server.recv({ timeoutMs: STEP_MS }), "X-Seq"));
              continue;
            }
            atOnce++;
            seqs.push(headerOf(m, "X-Seq"));
          }
          assert.deepEqual(
            seqs,
            Array.from({ length: n }, (_, i) => String(i)),
          );
          assert.ok(atOnce > 0, "some messages were queued by the time the first was read");
          assert.equal(tryRecv(), undefined, "nothing left");
          await client.close();
          const end = await within(server[Symbol.asyncIterator]().next(), STEP_MS, "end of iteration");
          assert.equal(end.done, true);
          assert.equal(tryRecv(), undefined, "nothing after the end");
        },
      },
      {
        name: "many messages arrive in order in both directions at once",
        timeoutMs: 30_000,
        run: async (scope) => {
          const { client, server } = await connect(scope);
          const n = 200;
          const sendAll = async (s: Socket, tag: string) => {
            for (let i = 0; i < n; i++) await s.send(msg(i, new TextEncoder().encode(`${tag}${i}`)));
          };
          const recvAll = async (s: Socket) => {
            const seqs: string[] = [];
            for (let i = 0; i < n; i++)
              seqs.push(headerOf(await s.recv({ timeoutMs: STEP_MS }), "X-Seq") ?? "?");
            return seqs;
          };
          const [, , atServer, atClient] = await Promise.all([
            sendAll(client, "c"),
            sendAll(server, "s"),
            recvAll(server),
            recvAll(client),
          ]);
          const expected = Array.from({ length: n }, (_, i) => String(i));
          assert.deepEqual(atServer, expected, "client→server order");
          assert.deepEqual(atClient, expected, "server→client order");
        },
      },
      {
        name: "concurrent sends on one socket do not interleave",
        timeoutMs: 30_000,
        run: async (scope) => {
          const { client, server } = await connect(scope);
          const n = 50;
          const size = 16 * KiB;
          const sends = Array.from({ length: n }, (_, i) =>
            client.send(msg(i, new Uint8Array(size).fill(i))),
          );
          const received = new Set<number>();
          for (let k = 0; k < n; k++) {
            const m = await within(server.recv(), STEP_MS, `recv ${k}`);
            const seq = Number(headerOf(m, "X-Seq"));
            assert.equal(m.body.byteLength, size, `message ${seq}: length`);
            assert.ok(
              m.body.every((b) => b === seq),
              `message ${seq}: body mixed with another message`,
            );
            assert.ok(!received.has(seq), `message ${seq} delivered twice`);
            received.add(seq);
          }
          await Promise.all(sends);
          assert.equal(received.size, n);
        },
      },
      {
        name: "one listener serves several clients",
        run: async (scope) => {
          const t = await open(scope);
          const l = await listen(scope, t);
          const accept = acceptor(l);
          const clients: Socket[] = [];
          for (let i = 0; i < 5; i++) {
            const c = await dial(scope, t, l.address);
            await c.send(msg(i, new TextEncoder().encode(`client-${i}`)));
            clients.push(c);
          }
          // Echo on every accepted socket: each client must get its own message back.
          for (let i = 0; i < clients.length; i++) {
            const s = await accept();
            scope.defer(() => s.close());
            const m = await within(s.recv(), STEP_MS, "server recv");
            await s.send(m);
          }
          for (const [i, c] of clients.entries()) {
            const m = await within(c.recv(), STEP_MS, `client ${i} recv`);
            assert.equal(new TextDecoder().decode(m.body), `client-${i}`, `client ${i} got another's reply`);
          }
        },
      },
      {
        name: "closing the client ends the server's recv and iteration",
        run: async (scope) => {
          const { client, server } = await connect(scope);
          const pending = server.recv();
          pending.catch(() => {}); // observed below; avoids an unhandled-rejection report meanwhile
          await client.close();
          await rejectsWith(pending, 503, STEP_MS, "server recv pending while the client closed");
          await rejectsWith(server.recv(), 503, STEP_MS, "server recv after the client closed");
          await within(server.closed, STEP_MS, "server socket closed");
          await within(client.closed, STEP_MS, "client socket closed");
          await within(drain(server), STEP_MS, "iterating the server socket after the client closed");
        },
      },
      {
        name: "closing the server socket ends the client's recv and iteration",
        run: async (scope) => {
          const { client, server } = await connect(scope);
          const pending = client.recv();
          pending.catch(() => {}); // observed below
          await server.close();
          await rejectsWith(pending, 503, STEP_MS, "client recv pending while the server closed");
          await rejectsWith(client.recv(), 503, STEP_MS, "client recv after the server closed");
          await within(client.closed, STEP_MS, "client socket closed");
          await within(drain(client), STEP_MS, "iterating the client socket after the server closed");
          await within(server.close(), STEP_MS, "second close() (idempotent)");
        },
      },
      {
        name: "messages sent just before close() reach the peer before the end",
        run: async (scope) => {
          const { client, server } = await connect(scope);
          const sent = [0, 1, 2].map((i) => server.send(msg(i)));
          await server.close();
          await within(Promise.all(sent), STEP_MS, "sends made before close()");
          for (let i = 0; i < 3; i++) {
            const m = await within(client.recv(), STEP_MS, `message ${i} sent before close()`);
            assert.equal(headerOf(m, "X-Seq"), String(i), "in order, none overtaken by the close");
          }
          await rejectsWith(client.recv(), 503, STEP_MS, "client recv after the last message");
        },
      },
      {
        name: "dial to an address nobody listens on rejects with 503 quickly",
        run: async (scope) => {
          const t = await open(scope);
          const l = await t.listen(options.listenAddress);
          const address = l.address;
          await l.close();
          const started = Date.now();
          await rejectsWith(t.dial(address, { stream: true }), 503, 3_000, `dial ${address} after close`);
          assert.ok(Date.now() - started < 3_000, "refusal must be quick");
        },
      },
      {
        name: "recv with timeoutMs rejects with 408",
        run: async (scope) => {
          const { client } = await connect(scope);
          const started = Date.now();
          await rejectsWith(client.recv({ timeoutMs: 100 }), 408, 3_000, "recv({ timeoutMs: 100 })");
          assert.ok(Date.now() - started >= 90, "the deadline must not fire early");
        },
      },
      {
        name: "recv with an aborted signal rejects with 499",
        run: async (scope) => {
          // Two connections, so this test does not depend on a socket surviving an aborted recv.
          const first = await connect(scope);
          await rejectsWith(
            first.client.recv({ signal: AbortSignal.abort() }),
            499,
            3_000,
            "recv, pre-aborted signal",
          );
          const { client } = await connect(scope);
          const c = new AbortController();
          const pending = client.recv({ signal: c.signal });
          setTimeout(() => c.abort(), 50);
          await rejectsWith(pending, 499, 3_000, "recv aborted while waiting");
        },
      },
      {
        name: "the socket stays usable after a recv timed out or was aborted",
        run: async (scope) => {
          const { client, server } = await connect(scope);
          await rejectsWith(client.recv({ timeoutMs: 50 }), 408, 3_000, "recv({ timeoutMs: 50 })");
          await rejectsWith(client.recv({ signal: AbortSignal.abort() }), 499, 3_000, "aborted recv");
          const later = msg(1, Uint8Array.of(42));
          await server.send(later);
          assertMessage(await within(client.recv(), STEP_MS, "recv after a timed-out recv"), later, "later");
        },
      },
      {
        name: "listener close() ends the accept iteration and is idempotent",
        run: async (scope) => {
          const t = await open(scope);
          const l = await t.listen(options.listenAddress);
          const accepted: Socket[] = [];
          const loop = (async () => {
            for await (const s of l) accepted.push(s);
          })();
          await new Promise((resolve) => setTimeout(resolve, 20));
          await within(l.close(), STEP_MS, "listener close()");
          await within(loop, STEP_MS, "accept iteration after close()");
          await within(l.close(), STEP_MS, "second listener close()");
          assert.equal(accepted.length, 0);
        },
      },
      {
        name: "closed resolves when the socket itself is closed",
        run: async (scope) => {
          const { client } = await connect(scope);
          await client.close();
          const reason = await within(client.closed, STEP_MS, "client.closed");
          assert.ok(
            reason === undefined || reason instanceof Error,
            "closed resolves to undefined or an Error",
          );
          await within(client.close(), STEP_MS, "second close() (idempotent)");
          await rejectsWith(client.send(msg(1)), 503, STEP_MS, "send on a closed socket");
        },
      },
      {
        name: "Symbol.asyncDispose closes sockets, listeners and the transport",
        run: async (scope) => {
          const { transport, listener, client, server } = await connect(scope);
          await within(client[Symbol.asyncDispose](), STEP_MS, "socket dispose");
          await within(client.closed, STEP_MS, "client.closed after dispose");
          await rejectsWith(server.recv(), 503, STEP_MS, "server recv after the client was disposed");
          await within(listener[Symbol.asyncDispose](), STEP_MS, "listener dispose");
          await rejectsWith(
            transport.dial(listener.address, { stream: true }),
            503,
            STEP_MS,
            "dial to a disposed listener",
          );
          await within(transport.close(), STEP_MS, "transport close()");
          await within(transport.close(), STEP_MS, "second transport close() (idempotent)");
        },
      },
    ],
    options.skip,
    options.cleanup,
  );
}

/** Iterates `socket` to its end, returning how many messages were left. */
async function drain(socket: Socket): Promise<number> {
  let n = 0;
  for await (const _ of socket) n++;
  return n;
}
