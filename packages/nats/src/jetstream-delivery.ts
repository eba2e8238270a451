import type { BrokerEvent, BrokerHandler, BrokerMessage, SubscribeOptions } from "@microts/core";
import { decodeMessageEnvelope, MicroError } from "@microts/core";
import type { ConsumerMessages, JsMsg } from "@nats-io/jetstream";
import { errorText } from "./connection.js";
import { reportError } from "./report-error.js";

/** What the delivery loop of one JetStream subscriber needs. */
export interface DeliveryContext {
  topic: string;
  handler: BrokerHandler;
  options: SubscribeOptions;
  /** False once the subscriber unsubscribed: prefetched messages are handed back (nak). */
  isActive(): boolean;
  /** The stream sequence of each message taken, so a lost consumer can resume after it. */
  onSeq(seq: number): void;
  /** Runs the handler marked as "inside this subscription's handler". */
  inHandler<T>(fn: () => T): T;
  maxDeliver: number;
  nackDelayMs: number;
}

const ID = "go.micro.broker";

/**
 * Hands the consumer's messages to the handler one at a time, in order, and settles each exactly
 * once: ack on `ack()` / handler success under autoAck, nak on `nack()` / handler throw, term on
 * `nack(false)`, on an undecodable payload, or on a nack that meets `maxDeliver` (both reported to
 * `onError`, so nothing is dropped silently).
 */
export async function deliver(messages: ConsumerMessages, ctx: DeliveryContext): Promise<void> {
  const autoAck = ctx.options.autoAck !== false;
  // Automatic acks leave together once per event-loop turn: nats.js writes what was published
  // before its flush, and an ack sent on its own took a socket write per message.
  const acks: JsMsg[] = [];
  let scheduled = false;
  const sendAcks = () => {
    scheduled = false;
    for (const m of acks.splice(0)) m.ack();
  };
  const ackSoon = (m: JsMsg) => {
    acks.push(m);
    if (!scheduled) {
      scheduled = true;
      setImmediate(sendAcks);
    }
  };
  try {
    for await (const m of messages) {
      if (!ctx.isActive()) {
        m.nak();
        continue;
      }
      ctx.onSeq(m.seq);
      let message: BrokerMessage;
      try {
        message = decodeMessageEnvelope(m.data);
      } catch (err) {
        m.term();
        reportError(
          ctx.options.onError,
          MicroError.badRequest(
            ID,
            `jetstream: undecodable message on ${m.subject} (seq ${m.seq}): ${errorText(err)}`,
            {
              cause: err,
            },
          ),
        );
        continue;
      }
      const [event, claim] = toEvent(m, message, ctx);
      try {
        await ctx.inHandler(() => ctx.handler(event));
        if (autoAck && claim()) ackSoon(m);
      } catch (err) {
        reportError(ctx.options.onError, err);
        if (autoAck) await event.nack(true);
      }
    }
  } catch (err) {
    reportError(
      ctx.options.onError,
      MicroError.serviceUnavailable(ID, `jetstream: subscription to ${ctx.topic} ended: ${errorText(err)}`, {
        cause: err,
      }),
    );
  } finally {
    // Unsubscribing or ending: acks of handled messages go out now, not after the connection closed.
    sendAcks();
  }
}

/**
 * The event handed to the handler, and `claim`: true once, for the first to settle the message
 * (the handler's own ack/nack, or the loop's automatic ack).
 */
function toEvent(m: JsMsg, message: BrokerMessage, ctx: DeliveryContext): [BrokerEvent, () => boolean] {
  let settled = false;
  const claim = () => {
    if (settled) return false;
    settled = true;
    return true;
  };
  const deliveries = m.info.deliveryCount;
  const event: BrokerEvent = {
    topic: m.subject,
    message,
    redelivered: deliveries - 1,
    async ack() {
      if (claim()) m.ack();
    },
    async nack(requeue = true) {
      if (!claim()) return;
      if (!requeue) {
        m.term();
        return;
      }
      if (ctx.maxDeliver > 0 && deliveries >= ctx.maxDeliver) {
        m.term();
        reportError(
          ctx.options.onError,
          MicroError.internalServerError(
            ID,
            `jetstream: message on ${m.subject} (seq ${m.seq}) dropped after ${deliveries} deliveries`,
          ),
        );
        return;
      }
      if (ctx.nackDelayMs > 0) m.nak(ctx.nackDelayMs);
      else m.nak();
    },
  };
  return [event, claim];
}
