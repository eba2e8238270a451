import assert from "node:assert/strict";
import type { Broker, BrokerEvent, BrokerMessage, Subscriber } from "@microts/core";
import type { SkipRule, TestScope } from "./internal/suite.js";
import { defineSuite } from "./internal/suite.js";
import { delay, patternBytes, uniqueName, waitFor, within } from "./internal/wait.js";

/** Options for {@link brokerContract}. */
export interface BrokerContractOptions {
  /**
   * Returns a broker on the SAME backend on each call: a new client for networked brokers, the
   * one shared instance for in-process ones. The suite disconnects each one when the test ends.
   */
  create: () => Broker | Promise<Broker>;
  /** Runs once after the whole suite. Default: nothing. */
  cleanup?: () => unknown;
  /**
   * Milliseconds to wait after subscribing before publishing, for brokers whose subscriptions
   * propagate asynchronously (HTTP broker via the registry, MQTT SUBACK, ...). Default 0.
   */
  settleMs?: number;
  /** Whether `subscribe({ queue })` load-balances within a group. Default true. */
  supportsQueue?: boolean;
  /** Tests this backend cannot pass, with the reason. Default none. */
  skip?: SkipRule[];
}

const DELIVERY_MS = 5_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A message whose body names it: `<label>`, so tests identify deliveries without headers. */
function labelled(label: string, header: Record<string, string> = {}): BrokerMessage {
  return { header, body: encoder.encode(label) };
}

/** Records every delivery of the subscriptions it is the handler of. */
class Inbox {
  readonly events: BrokerEvent[] = [];
  readonly copies: BrokerMessage[] = [];
  readonly handler = (e: BrokerEvent): void => {
    this.events.push(e);
    this.copies.push({ header: { ...e.message.header }, body: new Uint8Array(e.message.body) });
  };
  labels(): string[] {
    return this.copies.map((m) => decoder.decode(m.body));
  }
  /** Waits until at least `count` messages arrived. */
  async atLeast(count: number, ms: number, what: string): Promise<void> {
    await waitFor(`${what} (${this.copies.length}/${count} received)`, () => this.copies.length >= count, ms);
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

/** Asserts `list` holds each label of `expected` exactly once, in any order. */
function assertExactlyOnce(list: string[], expected: string[], what: string): void {
  assert.deepEqual([...list].sort(), [...expected].sort(), `${what}: each message exactly once`);
}

/**
 * The behaviour every {@link Broker} must show, as a node:test `describe` block named
 * `broker contract: <name>`: headers and body bytes delivered unchanged (binary, empty and 64 KiB
 * bodies, many headers), broadcast to every plain subscriber, queue groups delivering each message
 * to exactly one member (across broker clients), unsubscribe and `Symbol.asyncDispose` (which wait
 * for the handler call in progress, except when awaited from inside it; `disconnect` too), handler failures not
 * stopping later deliveries, manual acks, publishing without subscribers, idempotent
 * connect/disconnect, and per-publisher ordering.
 *
 * What a broker does with a message published before anyone subscribed is its own business (the
 * memory broker drops it; durable brokers may keep it); the suite only requires that `publish`
 * resolves and that later messages flow. Brokers may add headers of their own; every header the
 * publisher set must arrive with the same value and key.
 */
export function brokerContract(name: string, options: BrokerContractOptions): void {
  const settle = options.settleMs ?? 0;
  const wait = settle + DELIVERY_MS;
  const open = async (scope: TestScope): Promise<Broker> => {
    const b = await options.create();
    scope.defer(() => b.disconnect());
    await b.connect();
    return b;
  };
  const subscribe = async (
    scope: TestScope,
    b: Broker,
    topic: string,
    handler: (e: BrokerEvent) => void | Promise<void>,
    opts?: Parameters<Broker["subscribe"]>[2],
  ): Promise<Subscriber> => {
    const s = await b.subscribe(topic, handler, opts);
    scope.defer(() => s.unsubscribe());
    return s;
  };
  const queueUnsupported = options.supportsQueue === false ? "supportsQueue: false" : undefined;

  defineSuite(
    `broker contract: ${name}`,
    [
      {
        name: "publish and subscribe preserve headers and body bytes",
        run: async (scope) => {
          const sub = await open(scope);
          const pub = await open(scope);
          const topic = uniqueName("contract.roundtrip");
          const inbox = new Inbox();
          const s = await subscribe(scope, sub, topic, inbox.handler);
          assert.equal(s.topic, topic);
          await delay(settle);
          const header: Record<string, string> = {
            "Content-Type": "application/octet-stream",
            "Micro-Topic": topic,
            "X-Unicode": "héllo ✓ 世界",
            "x-lower-case": "lower",
            "X-Spaces": "  a value with spaces  ",
            "X-Json": '{"a":[1,2],"b":"<&>"}',
          };
          for (let i = 0; i < 24; i++) header[`X-Header-${i}`] = `value-${i}`;
          const all = new Uint8Array(256).map((_, i) => i);
          const bodies = [
            all,
            Uint8Array.of(0xff, 0xfe, 0xc3, 0x28, 0x00),
            new Uint8Array(0),
            patternBytes(64 * 1024),
          ];
          for (const body of bodies) await pub.publish(topic, { header, body });
          await inbox.atLeast(bodies.length, wait, "all messages delivered");
          for (const [i, event] of inbox.events.entries()) assert.equal(event.topic, topic, `topic of ${i}`);
          for (const [i, body] of bodies.entries()) {
            const got = inbox.copies[i] as BrokerMessage;
            assert.ok(got.body instanceof Uint8Array, `body ${i} is a Uint8Array`);
            assert.ok(
              bytesEqual(got.body, body),
              `body ${i}: ${got.body.byteLength} bytes, sent ${body.byteLength}`,
            );
            for (const [k, v] of Object.entries(header)) {
              assert.equal(got.header[k], v, `message ${i}: header ${JSON.stringify(k)}`);
            }
          }
        },
      },
      {
        name: "two broadcast subscribers on different clients both receive every message",
        run: async (scope) => {
          const [b1, b2, pub] = [await open(scope), await open(scope), await open(scope)];
          const topic = uniqueName("contract.broadcast");
          const one = new Inbox();
          const two = new Inbox();
          await subscribe(scope, b1, topic, one.handler);
          await subscribe(scope, b2, topic, two.handler);
          await delay(settle);
          const labels = ["m0", "m1", "m2", "m3", "m4"];
          for (const l of labels) await pub.publish(topic, labelled(l));
          await one.atLeast(labels.length, wait, "first subscriber");
          await two.atLeast(labels.length, wait, "second subscriber");
          await delay(settle + 200); // duplicates would show up now
          assertExactlyOnce(one.labels(), labels, "first subscriber");
          assertExactlyOnce(two.labels(), labels, "second subscriber");
        },
      },
      {
        name: "a queue group delivers each message to exactly one member",
        unsupported: queueUnsupported,
        timeoutMs: 20_000,
        run: async (scope) => {
          const [b1, b2] = [await open(scope), await open(scope)];
          const topic = uniqueName("contract.queue");
          const queue = uniqueName("workers");
          const members = [new Inbox(), new Inbox(), new Inbox()];
          await subscribe(scope, b1, topic, members[0]!.handler, { queue });
          await subscribe(scope, b1, topic, members[1]!.handler, { queue });
          await subscribe(scope, b2, topic, members[2]!.handler, { queue });
          await delay(settle);
          const labels = Array.from({ length: 30 }, (_, i) => `q${i}`);
          for (const l of labels) await b1.publish(topic, labelled(l));
          const total = () => members.reduce((n, m) => n + m.copies.length, 0);
          await waitFor(`all 30 delivered (${total()} so far)`, () => total() >= labels.length, wait);
          await delay(settle + 300);
          assertExactlyOnce(
            members.flatMap((m) => m.labels()),
            labels,
            "queue group",
          );
        },
      },
      {
        name: "broadcast and queue subscribers on one topic each get their share",
        unsupported: queueUnsupported,
        run: async (scope) => {
          const [b1, b2] = [await open(scope), await open(scope)];
          const topic = uniqueName("contract.mixed");
          const queue = uniqueName("mixed-workers");
          const [w1, w2, all] = [new Inbox(), new Inbox(), new Inbox()];
          await subscribe(scope, b1, topic, w1.handler, { queue });
          await subscribe(scope, b2, topic, w2.handler, { queue });
          await subscribe(scope, b2, topic, all.handler);
          await delay(settle);
          const labels = Array.from({ length: 10 }, (_, i) => `x${i}`);
          for (const l of labels) await b1.publish(topic, labelled(l));
          await all.atLeast(labels.length, wait, "broadcast subscriber");
          await waitFor(
            "queue group got all",
            () => w1.copies.length + w2.copies.length >= labels.length,
            wait,
          );
          await delay(settle + 300);
          assertExactlyOnce(all.labels(), labels, "broadcast subscriber");
          assertExactlyOnce([...w1.labels(), ...w2.labels()], labels, "queue group");
        },
      },
      {
        name: "unsubscribe stops delivery",
        run: async (scope) => {
          await stopsDelivery(scope, (s) => s.unsubscribe());
        },
      },
      {
        name: "Symbol.asyncDispose on a subscriber stops delivery",
        run: async (scope) => {
          await stopsDelivery(scope, (s) => s[Symbol.asyncDispose]());
        },
      },
      {
        name: "unsubscribe resolves only after the handler call in progress has finished",
        run: async (scope) => {
          const [sub, pub] = [await open(scope), await open(scope)];
          const topic = uniqueName("contract.unsubscribe-waits");
          let started = false;
          let finished = false;
          let release = (): void => {};
          const gate = new Promise<void>((resolve) => {
            release = resolve;
          });
          const s = await subscribe(scope, sub, topic, async () => {
            started = true;
            await gate;
            finished = true;
          });
          await delay(settle);
          await pub.publish(topic, labelled("slow"));
          await waitFor("the handler to start", () => started, wait);
          let stopped = false;
          const stopping = s.unsubscribe().then(() => {
            stopped = true;
          });
          await delay(200);
          assert.equal(stopped, false, "unsubscribe resolved while the handler was still running");
          release();
          await within(stopping, 5_000, "unsubscribe after the handler finished");
          assert.equal(finished, true);
        },
      },
      {
        name: "a handler that awaits its own unsubscribe finishes, and nothing reaches it afterwards",
        run: async (scope) => {
          const [sub, pub] = [await open(scope), await open(scope)];
          const topic = uniqueName("contract.self-unsubscribe");
          const seen: string[] = [];
          const control = new Inbox();
          let finished = false;
          const s: Subscriber = await subscribe(scope, sub, topic, async (e) => {
            seen.push(decoder.decode(e.message.body));
            // After an await: the handler's async path, not only its synchronous start.
            await delay(5);
            await within(s.unsubscribe(), 5_000, "unsubscribe from inside its own handler");
            finished = true;
          });
          await subscribe(scope, sub, topic, control.handler);
          await delay(settle);
          await pub.publish(topic, labelled("first"));
          await waitFor("the handler to finish", () => finished, wait);
          await pub.publish(topic, labelled("second"));
          await waitFor("control subscriber got both", () => control.labels().includes("second"), wait);
          await delay(settle + 200);
          assert.deepEqual(seen, ["first"], "no delivery after the handler unsubscribed");
        },
      },
      {
        name: "a handler that awaits its broker's disconnect finishes",
        run: async (scope) => {
          const [sub, pub] = [await open(scope), await open(scope)];
          const topic = uniqueName("contract.self-disconnect");
          let finished = false;
          await subscribe(scope, sub, topic, async () => {
            await delay(5);
            await within(sub.disconnect(), 5_000, "disconnect from inside a handler");
            finished = true;
          });
          await delay(settle);
          await pub.publish(topic, labelled("only"));
          await waitFor("the handler to finish", () => finished, wait);
        },
      },
      {
        name: "a handler that throws does not stop later messages",
        run: async (scope) => {
          const [sub, pub] = [await open(scope), await open(scope)];
          const topic = uniqueName("contract.throws");
          const crashes: unknown[] = [];
          const onCrash = (err: unknown) => crashes.push(err);
          process.on("unhandledRejection", onCrash);
          process.on("uncaughtException", onCrash);
          scope.defer(() => {
            process.off("unhandledRejection", onCrash);
            process.off("uncaughtException", onCrash);
          });
          const inbox = new Inbox();
          let thrown = 0;
          await subscribe(
            scope,
            sub,
            topic,
            async (e) => {
              if (decoder.decode(e.message.body) === "boom" && thrown++ === 0)
                throw new Error("handler failed");
              inbox.handler(e);
            },
            { onError: () => {} },
          );
          await delay(settle);
          for (const l of ["boom", "after-1", "after-2"]) await pub.publish(topic, labelled(l));
          await waitFor(
            "messages after the failing one",
            () => inbox.labels().includes("after-1") && inbox.labels().includes("after-2"),
            wait,
          );
          await delay(100);
          assert.equal(thrown >= 1, true, "the handler ran for the failing message");
          assert.deepEqual(crashes, [], "no unhandled rejection or uncaught exception");
        },
      },
      {
        name: "autoAck false: manual ack() confirms the delivery",
        run: async (scope) => {
          const [sub, pub] = [await open(scope), await open(scope)];
          const topic = uniqueName("contract.manual-ack");
          const inbox = new Inbox();
          const s = await subscribe(scope, sub, topic, inbox.handler, { autoAck: false });
          assert.equal(s.options.autoAck, false);
          await delay(settle);
          await pub.publish(topic, labelled("first"));
          await inbox.atLeast(1, wait, "first delivery");
          const first = inbox.events[0] as BrokerEvent;
          await within(first.ack(), 5_000, "ack()");
          await within(first.ack(), 5_000, "second ack() (idempotent)");
          await pub.publish(topic, labelled("second"));
          await inbox.atLeast(2, wait, "second delivery");
          await within((inbox.events[1] as BrokerEvent).ack(), 5_000, "ack() of the second message");
          await delay(settle + 500);
          assert.deepEqual(inbox.labels(), ["first", "second"], "acked messages are not redelivered");
        },
      },
      {
        name: "publish with no subscriber resolves and later messages flow",
        run: async (scope) => {
          const [sub, pub] = [await open(scope), await open(scope)];
          const topic = uniqueName("contract.nobody");
          await within(pub.publish(topic, labelled("early")), 5_000, "publish with no subscriber");
          const inbox = new Inbox();
          await subscribe(scope, sub, topic, inbox.handler);
          await delay(settle);
          await pub.publish(topic, labelled("late"));
          await waitFor("message published after subscribing", () => inbox.labels().includes("late"), wait);
        },
      },
      {
        name: "connect and disconnect are idempotent and disconnect unsubscribes",
        run: async (scope) => {
          const b = await options.create();
          scope.defer(() => b.disconnect());
          await within(b.connect(), 5_000, "connect()");
          await within(b.connect(), 5_000, "second connect()");
          assert.notEqual(b.address, "", "address is set once connected");
          const topic = uniqueName("contract.disconnect");
          const inbox = new Inbox();
          await b.subscribe(topic, inbox.handler);
          await delay(settle);
          await within(b.disconnect(), 5_000, "disconnect()");
          await within(b.disconnect(), 5_000, "second disconnect()");
          const pub = await open(scope);
          await pub.publish(topic, labelled("after-disconnect"));
          await delay(settle + 300);
          assert.deepEqual(inbox.labels(), [], "a disconnected broker's subscribers get nothing");
        },
      },
      {
        name: "messages from one publisher reach a subscriber in publish order",
        run: async (scope) => {
          const [sub, pub] = [await open(scope), await open(scope)];
          const topic = uniqueName("contract.order");
          const inbox = new Inbox();
          await subscribe(scope, sub, topic, inbox.handler);
          await delay(settle);
          const labels = Array.from({ length: 50 }, (_, i) => `o${i}`);
          for (const l of labels) await pub.publish(topic, labelled(l));
          await inbox.atLeast(labels.length, wait, "all 50 delivered");
          assert.deepEqual(inbox.labels(), labels);
        },
      },
    ],
    options.skip,
    options.cleanup,
  );

  // Shared body of the unsubscribe tests: a control subscriber proves the later message was sent.
  async function stopsDelivery(scope: TestScope, stop: (s: Subscriber) => PromiseLike<void>): Promise<void> {
    const [sub, pub] = [await open(scope), await open(scope)];
    const topic = uniqueName("contract.unsubscribe");
    const leaving = new Inbox();
    const control = new Inbox();
    const s = await subscribe(scope, sub, topic, leaving.handler);
    await subscribe(scope, sub, topic, control.handler);
    await delay(settle);
    await pub.publish(topic, labelled("before"));
    await leaving.atLeast(1, wait, "delivery before unsubscribing");
    await within(stop(s), 5_000, "stopping the subscription");
    await within(stop(s), 5_000, "stopping it again (idempotent)");
    await delay(settle);
    await pub.publish(topic, labelled("after"));
    await waitFor("control subscriber got the later message", () => control.labels().includes("after"), wait);
    await delay(settle + 200);
    assert.deepEqual(leaving.labels(), ["before"], "no delivery after the subscription stopped");
  }
}
