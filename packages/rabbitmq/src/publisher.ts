import type { BrokerMessage, PublishOptions } from "@microts/core";
import { MicroError } from "@microts/core";
import {
  abortReason,
  deadlineSignal,
  keepError,
  raceAbort,
  raceDeadline,
  sleep,
} from "@microts/core/internal";
import type { Channel, ChannelModel, ConfirmChannel, Options } from "amqplib";
import type { ConnectionManager } from "./connection-manager.js";
import { amqpError, ID } from "./errors.js";
import { toAmqpHeaders } from "./headers.js";
import { backoffDelay, type ResolvedOptions } from "./options.js";

/** Rejection of a confirm callback when the broker nacked the message: retrying will not help. */
class NackedError extends Error {}

/**
 * Publishes over one channel per connection (a confirm channel with `confirmPublish`). A publish
 * that loses its channel or connection before the confirm is sent again once a channel is back,
 * until the deadline (so a message may arrive twice: at-least-once). A broker nack rejects at once.
 */
export class Publisher {
  private channel: Promise<Channel | ConfirmChannel> | undefined;
  private channelConn: ChannelModel | undefined;
  /** The channel once open and until it closes: publishes use it without waiting. */
  private ready: Channel | ConfirmChannel | undefined;

  constructor(
    private readonly manager: ConnectionManager,
    private readonly opts: ResolvedOptions,
  ) {}

  async publish(topic: string, message: BrokerMessage, io: PublishOptions = {}): Promise<void> {
    const what = `publish ${topic}`;
    if (!topic) throw MicroError.badRequest(ID, "publish: topic is required");
    const body = Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength);
    const props: Options.Publish = { headers: toAmqpHeaders(message.header) };
    if (this.opts.persistent) props.deliveryMode = 2;
    const budget = io.timeoutMs ?? this.opts.publishTimeoutMs;
    const ch = this.ready;
    if (ch && this.channelConn === this.manager.current && !io.signal?.aborted) {
      // The usual case, with the channel open: a timer and no AbortController (which would cost
      // more than the rest of the publish). Any failure but a nack goes on to the retrying path.
      const started = Date.now();
      try {
        // Failures come back unmapped (`keepError`): a nack or a bad message must be told apart.
        await raceDeadline(ID, what, io, budget, () => this.write(ch, topic, body, props), keepError);
        return;
      } catch (err) {
        const fatal = this.fatal(what, err);
        if (fatal) throw fatal;
        if (err instanceof MicroError && (err.code === 408 || err.code === 499)) {
          throw this.finalError(what, err, io.timeoutMs !== undefined, undefined);
        }
        this.opts.logger.debug("rabbitmq publish retry", { topic, attempt: 0, error: String(err) });
        return this.publishRetrying(what, topic, body, props, io, budget - (Date.now() - started), err);
      }
    }
    return this.publishRetrying(what, topic, body, props, io, budget, undefined);
  }

  /**
   * Publishes, waiting for a connection and channel, and sends again after a lost channel or
   * connection, until the confirm arrives or `budgetMs` runs out.
   */
  private async publishRetrying(
    what: string,
    topic: string,
    body: Buffer,
    props: Options.Publish,
    io: PublishOptions,
    budgetMs: number,
    firstError: unknown,
  ): Promise<void> {
    const callerBound = io.timeoutMs !== undefined;
    const { signal, cleanup } = deadlineSignal(ID, what, io.signal, Math.max(0, budgetMs));
    let lastError: unknown = firstError;
    try {
      for (let attempt = 0; ; attempt++) {
        if (signal.aborted) throw abortReason(ID, what, signal);
        const conn = await this.manager.get(signal);
        const pending = this.channelFor(conn);
        try {
          const ch = await raceAbort(pending, signal);
          await raceAbort(this.write(ch, topic, body, props), signal);
          return;
        } catch (err) {
          const fatal = this.fatal(what, err);
          if (fatal) throw fatal;
          if (signal.aborted) throw abortReason(ID, what, signal);
          // amqplib throws IllegalOperationError on a channel that is closing: drop it at once.
          if (err instanceof Error && err.name === "IllegalOperationError") this.forget(pending);
          lastError = err;
          this.opts.logger.debug("rabbitmq publish retry", { topic, attempt, error: String(err) });
          await sleep(Math.min(backoffDelay(attempt, this.opts.reconnect), 1000), signal, ID);
        }
      }
    } catch (err) {
      throw this.finalError(what, err, callerBound, lastError);
    } finally {
      cleanup();
    }
  }

  /** The error for a failure no retry can mend (a nack, an invalid message), or undefined. */
  private fatal(what: string, err: unknown): MicroError | undefined {
    if (err instanceof NackedError) {
      return MicroError.serviceUnavailable(ID, `${what}: the broker nacked the message`, { cause: err });
    }
    if (err instanceof RangeError)
      return MicroError.badRequest(ID, `${what}: ${err.message}`, { cause: err });
    return undefined;
  }

  /**
   * The error a publish ends with: a MicroError as it is, except that our own default bound running
   * out (the caller set none) means the broker is unavailable: 503 with the last error seen.
   */
  private finalError(what: string, err: unknown, callerBound: boolean, lastError: unknown): MicroError {
    const e = MicroError.from(err, ID, 503);
    if (callerBound || e.code !== 408) return e;
    const last = lastError === undefined ? "" : ` (last error: ${amqpError(lastError, "publish").detail})`;
    return MicroError.serviceUnavailable(
      ID,
      `${what}: not confirmed within ${this.opts.publishTimeoutMs}ms${last}`,
      {
        cause: lastError ?? e,
      },
    );
  }

  /** Closes the publishing channel; unconfirmed publishes retry on the next connection or time out. */
  async close(): Promise<void> {
    const ch = this.channel;
    this.channel = undefined;
    this.channelConn = undefined;
    this.ready = undefined;
    if (ch) await ch.then((c) => c.close()).catch(() => {});
  }

  private forget(pending: Promise<Channel | ConfirmChannel>): void {
    if (this.channel !== pending) return;
    this.channel = undefined;
    this.channelConn = undefined;
    this.ready = undefined;
    pending.then((c) => c.close()).catch(() => {});
  }

  /** The channel of `conn`, opened once per connection (and again after it closed). */
  private channelFor(conn: ChannelModel): Promise<Channel | ConfirmChannel> {
    if (this.channel && this.channelConn === conn) return this.channel;
    this.channelConn = conn;
    const p = (async () => {
      const ch = this.opts.confirmPublish ? await conn.createConfirmChannel() : await conn.createChannel();
      ch.on("error", (err: Error) =>
        this.opts.logger.debug("rabbitmq publish channel error", { error: err.message }),
      );
      ch.on("handler-error", () => {});
      ch.once("close", () => {
        if (this.channel === p) this.channel = undefined;
        if (this.ready === ch) this.ready = undefined;
      });
      // Re-declared on every channel: cheap, and heals an exchange deleted behind our back.
      const ex = this.opts.exchange;
      await ch.assertExchange(ex.name, ex.type, { durable: ex.durable });
      return ch;
    })();
    this.channel = p;
    p.then(
      (ch) => {
        // Still this publisher's channel, and not closed while the exchange was declared.
        if (this.channel === p) this.ready = ch;
      },
      () => {
        if (this.channel === p) this.channel = undefined;
      },
    );
    return p;
  }

  /**
   * Writes one message on `ch`: with publisher confirms, done when the broker confirms it (a nack
   * rejects with NackedError); without, once amqplib has taken it (waiting for `drain` when its
   * buffer is full).
   */
  private write(
    ch: Channel | ConfirmChannel,
    topic: string,
    body: Buffer,
    props: Options.Publish,
  ): Promise<void> {
    const exchange = this.opts.exchange.name;
    return new Promise<void>((resolve, reject) => {
      if (this.opts.confirmPublish) {
        (ch as ConfirmChannel).publish(exchange, topic, body, props, (err: unknown) => {
          if (!err) resolve();
          else if (err instanceof Error && err.message === "message nacked")
            reject(new NackedError(err.message));
          else reject(err);
        });
        return;
      }
      if (ch.publish(exchange, topic, body, props)) return resolve();
      // Written to amqplib's buffer, which is full: wait until it drains (or the channel dies).
      const onDrain = () => {
        ch.off("close", onClose);
        resolve();
      };
      const onClose = () => {
        ch.off("drain", onDrain);
        reject(new Error("channel closed before the message was written"));
      };
      ch.once("drain", onDrain);
      ch.once("close", onClose);
    });
  }
}
