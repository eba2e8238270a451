import type { IoOptions } from "../context/call-options.js";

/**
 * The unit on the wire: string headers and an opaque body. Routing, metadata and errors travel in
 * the header; the body is what a codec produced. A transport frames messages; it never looks inside.
 */
export interface Message {
  header: Record<string, string>;
  body: Uint8Array;
}

/**
 * One end of a connection. Messages arrive in order; `send` may be called concurrently (the
 * transport serialises writes). When the peer or the network goes away, pending and later
 * `recv` calls reject with a `MicroError` (code 503 for a lost connection, 408 for a timeout).
 * Iterating a socket yields messages until the peer closes, then ends.
 */
export interface Socket extends AsyncIterable<Message>, AsyncDisposable {
  /** This end's address (`host:port` for network transports). */
  readonly local: string;
  /** The peer's address. */
  readonly remote: string;
  /** Sends one message; resolves once it is handed to the connection (not when the peer got it). */
  send(message: Message, options?: IoOptions): Promise<void>;
  /** Receives the next message. */
  recv(options?: IoOptions): Promise<Message>;
  /**
   * Optional: a message that has already arrived, taken at once, or `undefined` when none is
   * queued, also after the end or a failure of the connection (`recv` then reports it). Throws
   * where `recv` would reject for that very message (an HTTP client's non-200 response). Lets a
   * reader drain a burst of messages without a promise and a tick for each.
   */
  tryRecv?(): Message | undefined;
  /** Closes the connection; idempotent. Pending `recv` calls reject. */
  close(): Promise<void>;
  /** Resolves when the socket is closed, by either side; with the error that closed it, if any. */
  readonly closed: Promise<Error | undefined>;
}

/** A listening endpoint. Iterate it to accept sockets; `close` stops accepting. */
export interface Listener extends AsyncIterable<Socket>, AsyncDisposable {
  /** The address peers dial (the real port when listening on port 0). */
  readonly address: string;
  /** Stops accepting; open sockets stay open. Idempotent. Ends any iteration. */
  close(): Promise<void>;
}

/** Options for {@link Transport.dial}. */
export interface DialOptions extends IoOptions {
  /**
   * A streaming connection: messages are not paired request/response (Go's `WithStream`). The RPC
   * client sets it on every dial, as Go Micro does. Default false.
   */
  stream?: boolean;
}

/** Options for {@link Transport.listen}. */
export type ListenOptions = IoOptions;

/**
 * Dials and listens: Go Micro's `transport.Transport`. `name` is what the server writes as the
 * `transport` node metadata, so Go peers know how to reach it (`http`, `memory`, `nats`, ...).
 */
export interface Transport {
  readonly name: string;
  /** Opens a connection to `address`. Default dial timeout: 5000 ms. Rejects with MicroError 503/408. */
  dial(address: string, options?: DialOptions): Promise<Socket>;
  /** Listens on `address` (e.g. `127.0.0.1:0`). */
  listen(address: string, options?: ListenOptions): Promise<Listener>;
  /** Releases what the transport holds (connections to intermediaries); idempotent. */
  close(): Promise<void>;
}
