import type { IoOptions } from "../context/call-options.js";
import { MicroError } from "../errors/micro-error.js";
import { AsyncQueue } from "../internal/async-queue.js";
import { deferred } from "../internal/deferred.js";
import { deadlineSignal, raceSignal } from "../internal/signals.js";
import type { DialOptions, Listener, Message, Socket, Transport } from "./transport.js";

/** Options for {@link createMemoryTransport}. */
export interface MemoryTransportOptions {
  /** Messages a socket buffers before `send` waits for the reader. Default 1024. */
  highWaterMark?: number;
}

const ID = "go.micro.transport";

/**
 * An in-process transport for tests and single-process systems. Services reach each other only
 * through the same transport instance (pass one instance to every service). Messages are copied
 * on send, so sender and receiver never share buffers. Addresses look like `memory:1`.
 */
export function createMemoryTransport(options: MemoryTransportOptions = {}): Transport {
  const hwm = options.highWaterMark ?? 1024;
  const listeners = new Map<string, MemoryListener>();
  let nextPort = 1;
  let nextClient = 1;
  return {
    name: "memory",
    async dial(address: string, opts: DialOptions = {}) {
      if (opts.signal?.aborted) throw MicroError.canceled(ID, `dial ${address}: canceled`);
      const listener = listeners.get(address);
      if (!listener || listener.isClosed) {
        throw MicroError.serviceUnavailable(ID, `dial ${address}: connection refused`);
      }
      const [client, server] = socketPair(`memory-client:${nextClient++}`, address, hwm);
      listener.incoming.push(server);
      return client;
    },
    async listen(address: string) {
      let addr = address;
      const port = address.split(":").pop();
      if (!address || port === "0" || address === ":0") addr = `memory:${nextPort++}`;
      if (listeners.has(addr)) throw MicroError.conflict(ID, `listen ${addr}: address already in use`);
      const l = new MemoryListener(addr, () => listeners.delete(addr));
      listeners.set(addr, l);
      return l;
    },
    async close() {
      for (const l of [...listeners.values()]) await l.close();
    },
  };
}

class MemoryListener implements Listener {
  readonly incoming = new AsyncQueue<Socket>();
  isClosed = false;
  constructor(
    readonly address: string,
    private readonly onClose: () => void,
  ) {}
  [Symbol.asyncIterator](): AsyncIterator<Socket> {
    return this.incoming;
  }
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.onClose();
    this.incoming.end();
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function socketPair(clientAddr: string, serverAddr: string, hwm: number): [MemorySocket, MemorySocket] {
  const a = new MemorySocket(clientAddr, serverAddr, hwm);
  const b = new MemorySocket(serverAddr, clientAddr, hwm);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

class MemorySocket implements Socket {
  peer!: MemorySocket;
  private readonly inbox: AsyncQueue<Message>;
  private readonly closedD = deferred<Error | undefined>();
  private isClosed = false;
  private pending: Promise<IteratorResult<Message>> | undefined;
  readonly closed = this.closedD.promise;

  constructor(
    readonly local: string,
    readonly remote: string,
    hwm: number,
  ) {
    this.inbox = new AsyncQueue<Message>(hwm);
  }

  async send(message: Message, options: IoOptions = {}): Promise<void> {
    if (this.isClosed || this.peer.isClosed) {
      throw MicroError.serviceUnavailable(ID, `send to ${this.remote}: connection closed`);
    }
    const copy: Message = { header: { ...message.header }, body: message.body.slice() };
    if (!this.peer.inbox.push(copy)) {
      if (this.peer.inbox.closed)
        throw MicroError.serviceUnavailable(ID, `send to ${this.remote}: connection closed`);
      const d = deadlineSignal(ID, `send to ${this.remote}`, options.signal, options.timeoutMs);
      try {
        await raceSignal(this.peer.inbox.whenWritable(), d.signal, ID, `send to ${this.remote}`);
      } finally {
        d.cleanup();
      }
    }
  }

  async recv(options: IoOptions = {}): Promise<Message> {
    // A recv that timed out leaves its read pending; the next recv takes it over, so no message
    // is handed to a caller that already gave up.
    this.pending ??= this.inbox.next();
    const next = this.pending;
    let r: IteratorResult<Message>;
    if (options.signal || options.timeoutMs !== undefined) {
      const d = deadlineSignal(ID, `recv from ${this.remote}`, options.signal, options.timeoutMs);
      try {
        r = await raceSignal(next, d.signal, ID, `recv from ${this.remote}`);
      } catch (err) {
        if (!d.signal.aborted) this.pending = undefined;
        throw err;
      } finally {
        d.cleanup();
      }
    } else {
      try {
        r = await next;
      } finally {
        this.pending = undefined;
      }
    }
    this.pending = undefined;
    if (r.done) throw MicroError.serviceUnavailable(ID, `recv from ${this.remote}: connection closed`);
    return r.value;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Message> {
    for (;;) {
      try {
        yield await this.recv();
      } catch (err) {
        if (this.isClosed || this.peer.isClosed) return;
        throw err;
      }
    }
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.inbox.end();
    this.closedD.resolve(undefined);
    // The peer reads what is already queued, then sees the end of the connection.
    this.peer.inbox.end();
    void this.peer.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
