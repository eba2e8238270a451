import { MicroError } from "@microts/core";
import type { NatsConnection, PublishOptions } from "@nats-io/transport-node";

/** Who hears that a queued message could not be handed to its connection. */
export interface PublishOwner {
  /** The connection refused the message (it closed under us): it is lost. */
  publishFailed(err: unknown): void;
}

interface Queued {
  subject: string;
  data: Uint8Array;
  options: PublishOptions | undefined;
  owner: PublishOwner | undefined;
}

interface Queue {
  items: Queued[];
  bytes: number;
}

/** The messages queued per connection ({@link publishSoon}). */
const queues = new WeakMap<NatsConnection, Queue>();

/** Queued bytes on one connection at which they are handed over at once, not at the tick's end. */
const HAND_OVER_BYTES = 64 * 1024;

/**
 * Publishes `data` on `nc` at the end of the current tick (`process.nextTick`), after every message
 * queued on `nc` before it, and in order with them.
 *
 * Why: nats.js writes what was published since its last write in a microtask. A caller that awaits
 * anything between two publishes (a resolved promise is enough) lets that microtask run, so each
 * message became a write of its own: one syscall per message, and several times the server's CPU
 * per message. Messages queued here reach nats.js together, after the microtasks of the tick, and
 * leave in one write. At most 64 KiB wait: more is handed over at once.
 *
 * A message that nats.js refuses at hand-over (the connection closed in between) is lost, and
 * `owner.publishFailed` hears of it.
 */
export function publishSoon(
  nc: NatsConnection,
  subject: string,
  data: Uint8Array,
  options?: PublishOptions,
  owner?: PublishOwner,
): void {
  let q = queues.get(nc);
  if (q === undefined) {
    q = { items: [], bytes: 0 };
    queues.set(nc, q);
    process.nextTick(handOver, nc, q);
  }
  q.items.push({ subject, data, options, owner });
  q.bytes += data.length;
  if (q.bytes >= HAND_OVER_BYTES) handOver(nc, q);
}

/** Hands `nc`'s queued messages to nats.js now: before a flush or a close, which must follow them. */
export function publishQueued(nc: NatsConnection): void {
  const q = queues.get(nc);
  if (q !== undefined) handOver(nc, q);
}

function handOver(nc: NatsConnection, q: Queue): void {
  // Handed over early already (size, flush, close): this tick's callback has nothing left to do.
  if (queues.get(nc) !== q) return;
  queues.delete(nc);
  for (const m of q.items) {
    try {
      nc.publish(m.subject, m.data, m.options);
    } catch (err) {
      m.owner?.publishFailed(err);
    }
  }
}

/**
 * What nats.js's `publish` would refuse at once, checked before a message is queued, so that the
 * caller still hears of it: a closed connection (503), a subject that is empty or has white space
 * (400), a payload over the server's `max_payload` (400). Undefined when the message may go.
 */
export function publishRefusal(
  id: string,
  nc: NatsConnection,
  subject: string,
  bytes: number,
): MicroError | undefined {
  if (nc.isClosed()) return MicroError.serviceUnavailable(id, `publish ${subject}: connection closed`);
  if (subject !== lastValidSubject) {
    if (subject.length === 0 || WHITE_SPACE.test(subject)) {
      return MicroError.badRequest(id, `publish ${subject}: invalid subject`);
    }
    lastValidSubject = subject;
  }
  const max = nc.info?.max_payload;
  if (max !== undefined && bytes > max) {
    return MicroError.badRequest(
      id,
      `publish ${subject}: ${bytes} bytes exceed the server's max_payload of ${max} bytes`,
    );
  }
  return undefined;
}

/** The characters nats.js refuses in a subject. */
const WHITE_SPACE = /[ \n\r\t]/;
/** The subject {@link publishRefusal} last found valid: a run of publishes to one topic checks it once. */
let lastValidSubject = "";
