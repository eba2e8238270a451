import type { ServerSubscriber, SubscriberFunc, SubscriberOptions } from "./server.js";

/** Builds a server subscriber and its registry endpoint (`{topic, subscriber: "true"}`, as Go). */
export function createSubscriber<T>(
  topic: string,
  fn: SubscriberFunc<T>,
  options: SubscriberOptions = {},
): ServerSubscriber {
  if (!topic) throw new TypeError("subscribe: topic is required");
  if (typeof fn !== "function") throw new TypeError(`subscribe ${topic}: handler must be a function`);
  const name = fn.name && fn.name !== "anonymous" ? fn.name : "Func";
  return {
    topic,
    fn: fn as SubscriberFunc,
    options,
    endpoints: () => [{ name, metadata: { topic, subscriber: "true" } }],
  };
}
