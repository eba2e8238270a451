import type { BrokerEvent, BrokerHandler, SubscribeOptions } from "@microts/core";
import { decodeMessageEnvelope, MicroError } from "@microts/core";
import { AsyncQueue, runHandler, unlessInsideHandler } from "@microts/core/internal";
import { ID } from "./io.js";

/** A broadcast (no queue) subscriber fed from the broker's shared pub/sub connection. */
export interface PubSubSubscriber {
  readonly topic: string;
  /** Queues one raw envelope; drops it (reporting to `onError`) when `bufferSize` wait already. */
  push(data: Buffer): void;
  /**
   * Stops deliveries; resolves when the in-flight handler has finished (at once when that handler
   * is the caller).
   */
  stop(): Promise<void>;
}

/**
 * Runs one broadcast subscriber: envelopes are decoded and handed to the handler one at a time, in
 * arrival order. Redis pub/sub has no acks, so `ack`/`nack` are no-ops and nothing is redelivered.
 */
export function createPubSubSubscriber(
  topic: string,
  handler: BrokerHandler,
  options: SubscribeOptions,
  bufferSize: number,
): PubSubSubscriber {
  const queue = new AsyncQueue<Buffer>();
  const report = (err: unknown) => {
    try {
      options.onError?.(err);
    } catch {
      // onError must not break the delivery loop
    }
  };
  const noop = async () => {};
  const self = {};
  const run = async () => {
    for await (const data of queue) {
      let event: BrokerEvent;
      try {
        event = { topic, message: decodeMessageEnvelope(data), redelivered: 0, ack: noop, nack: noop };
      } catch (err) {
        report(err);
        continue;
      }
      try {
        await runHandler(self, () => handler(event));
      } catch (err) {
        report(err);
      }
    }
  };
  const done = run();
  return {
    topic,
    push(data) {
      if (queue.closed) return;
      if (queue.size >= bufferSize) {
        report(
          MicroError.tooManyRequests(
            ID,
            `subscriber on ${topic} is ${bufferSize} messages behind: dropped one`,
          ),
        );
        return;
      }
      queue.push(data);
    },
    async stop() {
      queue.end();
      await unlessInsideHandler(self, done);
    },
  };
}
