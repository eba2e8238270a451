import type { BrokerEvent, BrokerHandler, SubscribeOptions, Subscriber } from "@microts/core";
import { MicroError } from "@microts/core";
import {
  AsyncQueue,
  deadlineSignal,
  raceSignal,
  runHandler,
  sleep,
  unlessInsideHandler,
} from "@microts/core/internal";
import type { Channel, ChannelModel, ConsumeMessage } from "amqplib";
import type { ConnectionManager } from "./connection-manager.js";
import { amqpError, ID } from "./errors.js";
import { fromAmqpHeaders } from "./headers.js";
import { backoffDelay, type ResolvedOptions } from "./options.js";

interface Delivery {
  msg: ConsumeMessage;
  link: Link;
}

/** One channel's life: deliveries can only be acked on the channel that carried them. */
interface Link {
  ch: Channel;
  alive: boolean;
  closed: Promise<void>;
}

/**
 * One subscriber: its own channel (so `prefetch` applies per subscriber), its queue bound to the
 * exchange with the topic as binding key, a consumer with manual acks, and a supervisor that
 * re-opens the channel, re-declares the queue and binding and resumes consuming whenever the
 * channel or the connection is lost. Deliveries are handled one at a time, in arrival order.
 */
export class Subscription implements Subscriber {
  readonly options: Readonly<SubscribeOptions>;
  private active = true;
  private link: Link | undefined;
  private consumerTag: string | undefined;
  private readonly deliveries = new AsyncQueue<Delivery>();
  private readonly stop = new AbortController();
  private readonly stopped = abortPromise(this.stop.signal);
  private worker: Promise<void> = Promise.resolve();
  private supervisor: Promise<void> = Promise.resolve();
  private onGone: (() => void) | undefined;

  constructor(
    readonly topic: string,
    private readonly handler: BrokerHandler,
    options: SubscribeOptions,
    private readonly manager: ConnectionManager,
    private readonly opts: ResolvedOptions,
  ) {
    this.options = { ...options };
  }

  /** Declares and starts consuming; rejects (503/409/403...) when that first attempt fails. */
  async start(onGone: () => void): Promise<void> {
    this.onGone = onGone;
    const { signal, cleanup } = deadlineSignal(
      ID,
      `subscribe ${this.topic}`,
      undefined,
      this.opts.operationTimeoutMs,
    );
    try {
      const conn = await this.manager.get(signal);
      await this.attach(conn, signal);
    } finally {
      cleanup();
    }
    this.worker = this.work();
    this.supervisor = this.supervise();
  }

  async unsubscribe(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    this.stop.abort();
    this.onGone?.();
    const link = this.link;
    // Stop the flow first, let the in-flight handler finish, then close: unacked messages go back.
    if (link?.alive && this.consumerTag) {
      const { signal, cleanup } = deadlineSignal(ID, "unsubscribe", undefined, this.opts.operationTimeoutMs);
      await raceSignal(link.ch.cancel(this.consumerTag), signal, ID, "unsubscribe").catch(() => {});
      cleanup();
    }
    this.deliveries.end();
    // The handler in progress finishes (and is acked) before the channel closes. When that handler
    // is the caller, this resolves now and the channel closes once it has returned.
    await unlessInsideHandler(this, this.finish(link));
  }

  private async finish(link: Link | undefined): Promise<void> {
    await this.worker;
    await this.supervisor;
    if (link?.alive) await link.ch.close().catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.unsubscribe();
  }

  private queueName(): { name: string; durable: boolean; autoDelete: boolean; exclusive: boolean } {
    const q = this.options.queue;
    if (!q) return { name: "", durable: false, autoDelete: true, exclusive: true };
    const durable = this.opts.durableQueues;
    return { name: q, durable, autoDelete: !durable, exclusive: false };
  }

  /** Opens a channel, declares queue and binding, starts the consumer. Closes the channel on failure. */
  private async attach(conn: ChannelModel, signal: AbortSignal): Promise<void> {
    const what = `subscribe ${this.topic}`;
    let ch: Channel | undefined;
    try {
      ch = await raceSignal(conn.createChannel(), signal, ID, what);
      const channel = ch;
      channel.on("error", (err: Error) =>
        this.opts.logger.debug("rabbitmq subscriber channel error", {
          topic: this.topic,
          error: err.message,
        }),
      );
      channel.on("handler-error", () => {});
      const link: Link = {
        ch: channel,
        alive: true,
        closed: new Promise<void>((resolve) =>
          channel.once("close", () => {
            link.alive = false;
            resolve();
          }),
        ),
      };
      if (this.opts.prefetch > 0) await raceSignal(channel.prefetch(this.opts.prefetch), signal, ID, what);
      const q = this.queueName();
      const declared = await raceSignal(
        channel.assertQueue(q.name, { durable: q.durable, autoDelete: q.autoDelete, exclusive: q.exclusive }),
        signal,
        ID,
        what,
      );
      await raceSignal(
        channel.bindQueue(declared.queue, this.opts.exchange.name, this.topic),
        signal,
        ID,
        what,
      );
      const consumed = await raceSignal(
        channel.consume(
          declared.queue,
          (msg) => {
            if (msg === null) {
              // Cancelled by the server (queue deleted): close, and the supervisor re-declares.
              channel.close().catch(() => {});
              return;
            }
            this.deliveries.push({ msg, link });
          },
          { noAck: false },
        ),
        signal,
        ID,
        what,
      );
      if (!this.active) throw MicroError.canceled(ID, `${what}: unsubscribed`);
      this.consumerTag = consumed.consumerTag;
      this.link = link;
    } catch (err) {
      await ch?.close().catch(() => {});
      throw amqpError(err, what);
    }
  }

  /** Waits for the channel to close, then re-attaches with back-off until unsubscribed. */
  private async supervise(): Promise<void> {
    while (this.active) {
      const link = this.link;
      if (link) await Promise.race([link.closed, this.stopped]);
      if (!this.active) return;
      this.opts.logger.warn("rabbitmq subscriber lost its channel; resubscribing", { topic: this.topic });
      for (let n = 0; this.active; n++) {
        try {
          await sleep(backoffDelay(n, this.opts.reconnect), this.stop.signal, ID);
          const conn = await this.manager.get(this.stop.signal);
          const { signal, cleanup } = deadlineSignal(
            ID,
            "resubscribe",
            this.stop.signal,
            this.opts.operationTimeoutMs,
          );
          try {
            await this.attach(conn, signal);
          } finally {
            cleanup();
          }
          this.opts.logger.info("rabbitmq subscriber resumed", { topic: this.topic });
          break;
        } catch (err) {
          if (!this.active) return;
          this.opts.logger.debug("rabbitmq resubscribe failed", {
            topic: this.topic,
            attempt: n + 1,
            error: String(err),
          });
        }
      }
    }
  }

  private async work(): Promise<void> {
    const autoAck = this.options.autoAck !== false;
    for await (const { msg, link } of this.deliveries) {
      // After unsubscribe or a lost channel the broker requeues this message: do not handle it twice.
      if (!this.active || !link.alive) continue;
      const event = this.event(msg, link);
      try {
        await runHandler(this, () => this.handler(event));
      } catch (err) {
        this.options.onError?.(err);
        if (autoAck)
          await event.nack(this.opts.requeueOnError).catch((e: unknown) => this.options.onError?.(e));
        continue;
      }
      if (autoAck) await event.ack().catch((e: unknown) => this.options.onError?.(e));
    }
  }

  private event(msg: ConsumeMessage, link: Link): BrokerEvent {
    let settled = false;
    const settle = async (requeue: boolean | undefined): Promise<void> => {
      if (settled) return;
      settled = true;
      const what = requeue === undefined ? "ack" : "nack";
      if (!link.alive) {
        throw MicroError.serviceUnavailable(
          ID,
          `${what} on ${this.topic}: the channel closed; the broker will redeliver the message`,
        );
      }
      try {
        if (requeue === undefined) link.ch.ack(msg);
        else link.ch.nack(msg, false, requeue);
      } catch (err) {
        throw amqpError(err, `${what} on ${this.topic}`);
      }
    };
    const count = msg.properties.headers?.["x-delivery-count"];
    return {
      topic: this.topic,
      message: {
        header: fromAmqpHeaders(msg.properties.headers, msg.fields.routingKey),
        // A plain Uint8Array copy: the Buffer may be a view into a larger frame buffer.
        body: new Uint8Array(msg.content),
      },
      redelivered: typeof count === "number" ? count : msg.fields.redelivered ? 1 : 0,
      ack: () => settle(undefined),
      nack: (requeue = true) => settle(requeue),
    };
  }
}

function abortPromise(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}
