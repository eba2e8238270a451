import type { IoOptions } from "../context/call-options.js";

/** A broker message: headers and raw body (the publisher's codec output). */
export interface BrokerMessage {
  header: Record<string, string>;
  body: Uint8Array;
}

/**
 * One delivery to a subscriber. With auto-ack (the default) the broker acks when the handler
 * resolves and nacks when it throws; with `autoAck: false` the handler calls `ack()` or `nack()`.
 */
export interface BrokerEvent {
  readonly topic: string;
  readonly message: BrokerMessage;
  /** Confirms processing; the broker will not redeliver. Idempotent; a no-op on brokers without acks. */
  ack(): Promise<void>;
  /**
   * Rejects the delivery. Durable brokers redeliver it (when `requeue`, default true); brokers
   * without acks drop it. Idempotent.
   */
  nack(requeue?: boolean): Promise<void>;
  /** How many times this message was delivered before (0 on first delivery), when known. */
  readonly redelivered?: number | undefined;
}

/** A subscriber's callback. Throwing (or rejecting) nacks the delivery under auto-ack. */
export type BrokerHandler = (event: BrokerEvent) => void | Promise<void>;

/** Options for {@link Broker.subscribe}. */
export interface SubscribeOptions {
  /**
   * Queue group: each message goes to one member of the group. Subscribers without a queue each
   * get every message. Default: none (broadcast).
   */
  queue?: string | undefined;
  /** Ack when the handler resolves, nack when it throws. Default true. */
  autoAck?: boolean | undefined;
  /** Called with errors the broker cannot hand to anyone else (undecodable payloads, nack failures). */
  onError?: ((error: unknown) => void) | undefined;
}

/** Options for {@link Broker.publish}. */
export type PublishOptions = IoOptions;

/**
 * A live subscription. `unsubscribe` (or disposal) stops deliveries and resolves once the handler
 * call in progress, if any, has finished; when that handler is the caller (it awaits its own
 * `unsubscribe`, or its broker's `disconnect`), it resolves without waiting for it, and the
 * broker finishes the rest (acks, closing) once the handler returns.
 */
export interface Subscriber extends AsyncDisposable {
  readonly topic: string;
  readonly options: Readonly<SubscribeOptions>;
  unsubscribe(): Promise<void>;
}

/**
 * Publish/subscribe: Go Micro's `broker.Broker`. `publish` resolves when the broker accepted the
 * message (for durable brokers: when it is persisted); delivery is asynchronous. Each
 * implementation documents its delivery guarantee.
 */
export interface Broker {
  /** `memory`, `http`, `nats`...: written as the `broker` node metadata. */
  readonly name: string;
  /** Where the broker listens or connects; "" before `connect`. */
  readonly address: string;
  /** Connects (or starts listening). Idempotent. `publish` and `subscribe` connect lazily too. */
  connect(options?: IoOptions): Promise<void>;
  /** Unsubscribes everything and disconnects. Idempotent. */
  disconnect(options?: IoOptions): Promise<void>;
  publish(topic: string, message: BrokerMessage, options?: PublishOptions): Promise<void>;
  subscribe(topic: string, handler: BrokerHandler, options?: SubscribeOptions): Promise<Subscriber>;
}
