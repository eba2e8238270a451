import type { DialOptions, IoOptions, Listener, ListenOptions, Socket, Transport } from "@microts/core";
import { MicroError } from "@microts/core";
import { AsyncQueue, deadlineSignal, raceSignal } from "@microts/core/internal";
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { createInbox } from "@nats-io/transport-node";
import { Reassembler } from "./chunks.js";
import type { NatsConnectionConfig } from "./connection.js";
import { Connector } from "./connection.js";
import { classify, NatsSocket, publishControl } from "./nats-socket.js";
import { publishQueued } from "./publish-soon.js";

/** Options for {@link createNatsTransport}. */
export interface NatsTransportOptions extends NatsConnectionConfig {
  /**
   * Send a close message (empty payload, NATS header `Micro-Transport: close`) when a socket closes,
   * so the other end's session ends at once. A client always sends it; a server sends it only to
   * peers that marked their messages as micro-ts (a Go client would read it as a broken reply).
   * A Go server reading it fails to decode it and ends the session, which is what we want too.
   * Default true.
   */
  closeMessage?: boolean | undefined;
  /**
   * A server session with no message in either direction for this many ms is closed (NATS has no
   * connection to lose, so sessions of vanished clients would otherwise pile up); a client that
   * comes back simply starts a new session. 0 disables. Default 300 000 (5 min).
   */
  idleTimeoutMs?: number | undefined;
  /** Default time budget for `dial` (connecting to NATS and probing) in ms. Default 5000. */
  dialTimeoutMs?: number | undefined;
  /**
   * `dial` publishes an empty probe (NATS header `Micro-Transport: probe`) to the address and waits
   * one round trip to NATS: when nobody subscribes to it, NATS answers "no responders" and `dial`
   * rejects with 503 at once, like a refused TCP connection. A micro-ts listener ignores the probe
   * (or refuses it once closed); a Go listener opens a session for it that ends on the first read
   * (the empty payload is not JSON). The probe's reply subject is `<inbox>.probe`, not the socket's
   * inbox, so that this throwaway Go session never swallows the socket's first request. false:
   * `dial` only subscribes, as in Go, and a missing server shows on the first `send`. Default true.
   */
  probeOnDial?: boolean | undefined;
}

const ID = "go.micro.transport";

/**
 * Go Micro's NATS transport (`transport/nats`). Listening on `:0` (or any `host:0`, or "") subscribes
 * to a fresh inbox `_INBOX.<nuid>`, which becomes the listener's address (what the server registers);
 * any other address is used as the subject itself. Dialing subscribes to a client inbox and
 * publishes each message to the server subject with the inbox as reply subject; the server keys its
 * sessions by that reply subject and answers by publishing to it. The payload is Go's JSON
 * `transport.Message`: `{"Header":{sorted},"Body":"<base64>"}`. Two micro-ts ends switch to a
 * binary frame (`frame.ts`) after the first message, negotiated so that Go peers never see one.
 *
 * NATS has no connections, so ends are signalled explicitly (see `closeMessage`, `idleTimeoutMs`).
 * A dead server is detected on the next send (NATS "no responders": the socket fails with 503); a
 * server that dies while we wait for its reply is only noticed by the caller's deadline, as in Go.
 * Losing the NATS connection fails every open socket with 503 (messages in flight may be lost);
 * listeners resume by themselves once the client reconnects.
 */
export function createNatsTransport(options: NatsTransportOptions = {}): Transport {
  let connector = new Connector(ID, options);
  const closeMessage = options.closeMessage ?? true;
  const idleTimeoutMs = options.idleTimeoutMs ?? 300_000;
  const sockets = new Set<NatsSocket>();
  const listeners = new Set<NatsListener>();
  let hooked: Connector | undefined;

  const conn = async (io: IoOptions): Promise<NatsConnection> => {
    if (connector.isClosed) connector = new Connector(ID, options);
    const nc = await connector.connect({
      signal: io.signal,
      timeoutMs: io.timeoutMs ?? options.dialTimeoutMs ?? options.connectTimeoutMs ?? 5_000,
    });
    if (hooked !== connector) {
      hooked = connector;
      connector.onStatus((s) => {
        if (s.type !== "disconnect") return;
        const err = MicroError.serviceUnavailable(ID, `nats: connection to ${s.server} lost`);
        for (const sock of [...sockets]) sock.fail(err);
        for (const l of listeners) l.failSessions(err);
      });
    }
    return nc;
  };

  return {
    name: "nats",

    async dial(address: string, opts: DialOptions = {}): Promise<Socket> {
      checkSubject(address, "dial");
      const nc = await conn(opts);
      const inbox = createInbox(options.connectionOptions?.inboxPrefix);
      const chunks = new Reassembler();
      let sub: Subscription | undefined;
      const socket = new NatsSocket({
        nc,
        local: inbox,
        remote: address,
        sendTo: address,
        replyTo: inbox,
        announceClose: () => closeMessage,
        onClose: () => {
          sub?.unsubscribe();
          sockets.delete(socket);
        },
      });
      sub = nc.subscribe(inbox, {
        callback: (err, m) => {
          if (!err) socket.deliver(classify(m, chunks));
        },
      });
      sockets.add(socket);
      if (options.probeOnDial ?? true) {
        // The probe has its own reply subject. A Go listener keys sessions by reply subject and opens
        // one for the probe that dies on it (not JSON); with the socket's inbox as reply, the first
        // request could land in that dying session and be lost.
        const probeInbox = `${inbox}.probe`;
        const probeSub = nc.subscribe(probeInbox, {
          callback: (err, m) => {
            if (!err) socket.deliver(classify(m, new Reassembler()));
          },
        });
        try {
          publishControl(nc, address, "probe", probeInbox);
          publishQueued(nc);
          // NATS answers "no responders" before the PONG of this flush when nobody listens.
          await raceDial(nc.flush(), opts.signal, opts.timeoutMs ?? options.dialTimeoutMs ?? 5_000, address);
        } catch (err) {
          await socket.close();
          throw err instanceof MicroError
            ? err
            : MicroError.serviceUnavailable(ID, `dial ${address}: ${String(err)}`, { cause: err });
        } finally {
          probeSub.unsubscribe();
        }
        const refused = await Promise.race([socket.closed, Promise.resolve(null)]);
        if (refused !== null) {
          throw MicroError.serviceUnavailable(
            ID,
            `dial ${address}: ${refused instanceof Error ? refused.message : "connection refused"}`,
          );
        }
      }
      return socket;
    },

    async listen(address: string, opts: ListenOptions = {}): Promise<Listener> {
      const nc = await conn(opts);
      const subject = isAnyAddress(address) ? createInbox(options.connectionOptions?.inboxPrefix) : address;
      checkSubject(subject, "listen");
      const l = new NatsListener(nc, subject, closeMessage, idleTimeoutMs, () => listeners.delete(l));
      listeners.add(l);
      // The server has the subscription before we hand out the address.
      await nc.flush().catch((err: unknown) => {
        throw MicroError.serviceUnavailable(ID, `listen ${subject}: ${String(err)}`, { cause: err });
      });
      return l;
    },

    async close() {
      for (const l of [...listeners]) await l.shutdown();
      for (const s of [...sockets]) await s.close();
      await connector.close();
    },
  };
}

/**
 * Accepts sessions on one subject. Closing it stops accepting; existing sessions keep working (the
 * subscription stays until the last one ends) and newcomers get a close message, so micro-ts
 * clients fail fast with 503 instead of waiting for their deadline.
 */
class NatsListener implements Listener {
  private readonly incoming = new AsyncQueue<Socket>();
  private readonly sessions = new Map<string, NatsSocket>();
  private readonly chunks = new Map<string, Reassembler>();
  private readonly sub: Subscription;
  private readonly sweep: NodeJS.Timeout | undefined;
  private accepting = true;

  constructor(
    private readonly nc: NatsConnection,
    readonly address: string,
    private readonly closeMessage: boolean,
    idleTimeoutMs: number,
    private readonly onGone: () => void,
  ) {
    this.sub = nc.subscribe(address, {
      callback: (err, m) => {
        if (!err) this.onMessage(m);
      },
    });
    if (idleTimeoutMs > 0) {
      this.sweep = setInterval(
        () => {
          const cutoff = Date.now() - idleTimeoutMs;
          for (const s of [...this.sessions.values()]) if (s.lastActivity < cutoff) void s.close();
        },
        Math.min(idleTimeoutMs, 30_000),
      );
      this.sweep.unref();
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Socket> {
    return this.incoming;
  }

  async close(): Promise<void> {
    if (!this.accepting) return;
    this.accepting = false;
    this.incoming.end();
    this.maybeRelease();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Closes the listener and every session (transport shutdown). */
  async shutdown(): Promise<void> {
    await this.close();
    for (const s of [...this.sessions.values()]) await s.close();
    this.maybeRelease();
  }

  failSessions(err: MicroError): void {
    for (const s of [...this.sessions.values()]) s.fail(err);
  }

  private onMessage(m: Msg): void {
    const reply = m.reply;
    if (!reply) return; // nobody to answer: not a transport message
    const inbound = classify(m, this.chunks, reply);
    if (inbound.kind !== "partial" && this.chunks.size > 0) this.chunks.delete(reply);
    const existing = this.sessions.get(reply);
    if (existing) {
      existing.deliver(inbound);
      return;
    }
    if (inbound.kind === "probe" && !this.accepting) this.refuse(reply);
    if (inbound.kind !== "data") return; // a probe, a close or garbage for a session we do not know
    if (!this.accepting) {
      if (inbound.peerIsTs && this.closeMessage) this.refuse(reply);
      return;
    }
    const socket: NatsSocket = new NatsSocket({
      nc: this.nc,
      local: this.address,
      remote: reply,
      sendTo: reply,
      replyTo: undefined,
      announceClose: (): boolean => this.closeMessage && socket.peerIsTs,
      onClose: () => {
        if (this.sessions.get(reply) === socket) this.sessions.delete(reply);
        this.maybeRelease();
      },
    });
    this.sessions.set(reply, socket);
    socket.deliver(inbound);
    this.incoming.push(socket);
  }

  /** Tells the peer behind `reply` that nobody accepts here (queued; lost if the connection is gone). */
  private refuse(reply: string): void {
    publishControl(this.nc, reply, "close");
  }

  private maybeRelease(): void {
    if (this.accepting || this.sessions.size > 0) return;
    if (this.sweep) clearInterval(this.sweep);
    if (!this.sub.isClosed()) this.sub.unsubscribe();
    this.onGone();
  }
}

/** Races a dial step against the caller's signal and the dial budget (MicroError 408/499). */
async function raceDial<T>(
  p: Promise<T>,
  signal: AbortSignal | undefined,
  timeoutMs: number,
  address: string,
): Promise<T> {
  const d = deadlineSignal(ID, `dial ${address}`, signal, timeoutMs);
  try {
    return await raceSignal(p, d.signal, ID, `dial ${address}`);
  } finally {
    d.cleanup();
  }
}

/** True for the addresses Go treats as "pick one for me" (`:0`), plus our `host:0` and "". */
function isAnyAddress(address: string): boolean {
  return address === "" || /^(?:\[[^\]]*\]|[^:]*):0$/.test(address);
}

function checkSubject(subject: string, what: string): void {
  if (
    !subject ||
    /\s/.test(subject) ||
    subject.startsWith(".") ||
    subject.endsWith(".") ||
    subject.includes("..")
  ) {
    throw MicroError.badRequest(ID, `${what}: ${JSON.stringify(subject)} is not a valid NATS subject`);
  }
}
