import { once } from "node:events";
import { connect, type Socket as NetSocket } from "node:net";
import type { Listener, Message, Socket } from "@microts/core";
import { parseHostPort } from "@microts/core/internal";

/** The sockets a listener accepts, handed out in accept order. */
export interface AcceptQueue {
  /** The next accepted socket not handed out yet (waits for it when there is none). */
  next(): Promise<Socket>;
  /** Every socket accepted so far (to close them after a test). */
  readonly all: readonly Socket[];
}

/** Accepts from `listener` until it closes; see {@link AcceptQueue}. */
export function acceptQueue(listener: Listener): AcceptQueue {
  const all: Socket[] = [];
  const ready: Socket[] = [];
  const waiting: Array<(s: Socket) => void> = [];
  void (async () => {
    for await (const s of listener) {
      all.push(s);
      const w = waiting.shift();
      if (w) w(s);
      else ready.push(s);
    }
  })();
  return {
    all,
    next: () => {
      const s = ready.shift();
      return s ? Promise.resolve(s) : new Promise<Socket>((resolve) => waiting.push(resolve));
    },
  };
}

/** A plain TCP connection for writing hostile bytes to a listener and reading what it answers. */
export interface RawConnection {
  sock: NetSocket;
  /** Every byte received so far. */
  bytes(): Buffer;
  /** The same, as UTF-8. */
  text(): string;
  /** Resolves when the connection is closed (by either side). */
  closed: Promise<void>;
}

/** Opens a {@link RawConnection} to `address` (`host:port`); socket errors are ignored. */
export async function rawConnection(address: string): Promise<RawConnection> {
  const { host, port } = parseHostPort(address, "test");
  const sock = connect({ host: host || "127.0.0.1", port });
  sock.on("error", () => {});
  await once(sock, "connect");
  const chunks: Buffer[] = [];
  sock.on("data", (c: Buffer) => chunks.push(c));
  const closed = new Promise<void>((resolve) => sock.on("close", () => resolve()));
  const bytes = () => Buffer.concat(chunks);
  return { sock, bytes, text: () => bytes().toString("utf8"), closed };
}

/** What {@link recvUntilError} saw: messages received, the error that ended them, time taken. */
export interface RecvOutcome {
  received: number;
  error: unknown;
  ms: number;
}

/**
 * Calls `socket.recv({ timeoutMs })` until it rejects, counting the messages it returned: how a
 * hostile-input test learns whether, how and how soon a connection ended.
 */
export async function recvUntilError(socket: Socket, timeoutMs: number): Promise<RecvOutcome> {
  const t0 = Date.now();
  let received = 0;
  for (;;) {
    try {
      await socket.recv({ timeoutMs });
      received++;
    } catch (error) {
      return { received, error, ms: Date.now() - t0 };
    }
  }
}

/**
 * `socket`, whose messages read through its async iterator are each remembered weakly in `seen`,
 * so that a test can tell whether anything still holds them ({@link collectGarbage}). `tryRecv` is
 * left out, so every message goes that way.
 */
export function watchMessages(socket: Socket, seen: WeakRef<Message>[]): Socket {
  const it = socket[Symbol.asyncIterator]();
  return {
    local: socket.local,
    remote: socket.remote,
    closed: socket.closed,
    send: (m, o) => socket.send(m, o),
    recv: (o) => socket.recv(o),
    close: () => socket.close(),
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        const r = await it.next();
        if (!r.done) seen.push(new WeakRef(r.value));
        return r;
      },
    }),
    [Symbol.asyncDispose]: () => socket.close(),
  };
}
