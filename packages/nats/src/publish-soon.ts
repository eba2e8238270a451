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
 * leave in one write. At most 64 KiB wait: more is handed over at once. Messages without NATS
 * headers are formatted here, a run of them into one buffer (see {@link writePlain}).
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
  const items = q.items;
  const p = nc.isClosed() ? undefined : protocolOf(nc);
  if (p === undefined || p.noMorePublishing) {
    for (const m of items) publishOne(nc, m);
    return;
  }
  // Runs of plain messages become one command; the others (NATS headers, over the server's
  // current max_payload, a subject nats.js refuses) go through `publish`, which writes or refuses
  // them, in their place.
  const max = nc.info?.max_payload ?? Number.POSITIVE_INFINITY;
  let from = 0;
  for (let i = 0; i < items.length; i++) {
    const m = items[i] as Queued;
    const reply = m.options?.reply;
    if (
      m.options?.headers === undefined &&
      m.data.length <= max &&
      validSubject(m.subject) &&
      (reply === undefined || validSubject(reply))
    )
      continue;
    writePlain(p, items, from, i);
    publishOne(nc, m);
    from = i + 1;
  }
  writePlain(p, items, from, items.length);
}

function publishOne(nc: NatsConnection, m: Queued): void {
  try {
    nc.publish(m.subject, m.data, m.options);
  } catch (err) {
    m.owner?.publishFailed(err);
  }
}

/**
 * The part of nats.js's protocol handler (`NatsConnectionImpl.protocol`, typed in nats-core's
 * internal module) that {@link writePlain} uses: `sendCommand` queues bytes on the connection's
 * outbound buffer exactly as `publish` does after it has formatted a message.
 */
interface ProtocolWriter {
  sendCommand(cmd: Uint8Array): void;
  noMorePublishing: boolean;
  outMsgs: number;
  outBytes: number;
}

/** `nc`'s protocol handler when it has the shape {@link ProtocolWriter} needs, else undefined. */
function protocolOf(nc: NatsConnection): ProtocolWriter | undefined {
  const p = (nc as { protocol?: Partial<ProtocolWriter> }).protocol;
  return p !== undefined &&
    typeof p.sendCommand === "function" &&
    typeof p.noMorePublishing === "boolean" &&
    typeof p.outMsgs === "number" &&
    typeof p.outBytes === "number"
    ? (p as ProtocolWriter)
    : undefined;
}

/** The `PUB <subject> [<reply>] ` part of each message of a run, reused between runs. */
const heads: Buffer[] = [];
let lastSubject = "";
let lastReply = "";
let lastHead = Buffer.from("PUB  ", "latin1");

/**
 * Writes `items[from..to)`, messages without NATS headers, as one command: each is
 * `PUB <subject> [<reply>] <length>\r\n<data>\r\n`, what nats.js's `publish` writes for it, so the
 * connection's statistics count them too. Formatting a run at once saves `publish`'s per-message
 * string and TextEncoder call, and its copy of each part into the outbound buffer.
 */
function writePlain(p: ProtocolWriter, items: Queued[], from: number, to: number): void {
  if (to <= from) return;
  let size = 0;
  let bytes = 0;
  for (let i = from; i < to; i++) {
    const m = items[i] as Queued;
    const reply = m.options?.reply ?? "";
    if (m.subject !== lastSubject || reply !== lastReply) {
      lastSubject = m.subject;
      lastReply = reply;
      lastHead = Buffer.from(reply ? `PUB ${m.subject} ${reply} ` : `PUB ${m.subject} `, "utf8");
    }
    heads[i - from] = lastHead;
    const n = m.data.length;
    bytes += n;
    size += lastHead.length + decimalDigits(n) + n + 4;
  }
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  for (let i = from; i < to; i++) {
    const m = items[i] as Queued;
    const head = heads[i - from] as Buffer;
    o += head.copy(out, o);
    const n = m.data.length;
    o = writeDecimal(out, o, n);
    out[o++] = 0x0d;
    out[o++] = 0x0a;
    out.set(m.data, o);
    o += n;
    out[o++] = 0x0d;
    out[o++] = 0x0a;
  }
  heads.length = 0;
  p.outMsgs += to - from;
  p.outBytes += bytes;
  p.sendCommand(out);
}

function decimalDigits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

/** Writes `n` (a non-negative integer) in decimal at `at`; returns the offset after it. */
function writeDecimal(out: Buffer, at: number, n: number): number {
  const end = at + decimalDigits(n);
  for (let o = end - 1; o >= at; o--) {
    out[o] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  return end;
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
  if (!validSubject(subject)) return MicroError.badRequest(id, `publish ${subject}: invalid subject`);
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
/** The subject last found valid: a run of publishes to one topic checks it once. */
let lastValidSubject = "";

/** Whether nats.js takes `subject`: not empty, no white space. */
function validSubject(subject: string): boolean {
  if (subject === lastValidSubject) return true;
  if (subject.length === 0 || WHITE_SPACE.test(subject)) return false;
  lastValidSubject = subject;
  return true;
}
