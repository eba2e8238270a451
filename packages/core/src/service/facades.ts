import type { CallOptions, Client, ClientStream } from "../client/client.js";
import { createServiceClient } from "../client/service-client.js";
import type { Server } from "../server/server.js";

/**
 * A server that forwards to whichever server the service currently has, recording handler and
 * subscriber registrations so a server rebuilt by `init` gets them too.
 */
export function recordingServer(
  current: () => Server,
  record: (r: (server: Server) => void) => void,
): Server {
  return {
    get name() {
      return current().name;
    },
    get address() {
      return current().address;
    },
    get id() {
      return current().id;
    },
    newHandler: (instance, options) => current().newHandler(instance, options),
    newSubscriber: (topic, fn, options) => current().newSubscriber(topic, fn, options),
    handle: (handler, options) => record((s) => s.handle(handler, options)),
    handleFunction: (endpoint, fn, options) => record((s) => s.handleFunction(endpoint, fn, options)),
    subscribe: (topic, fn, options) => record((s) => s.subscribe(topic, fn, options)),
    start: (options) => current().start(options),
    stop: (options) => current().stop(options),
    register: (options) => current().register(options),
    deregister: (options) => current().deregister(options),
    endpoints: () => current().endpoints(),
  };
}

/**
 * A client that forwards to whichever client the service currently has, after the service has
 * resolved its parts (`ready`), so a program that only calls never talks to stand-ins.
 */
export function delegatingClient(current: () => Client, ready: () => Promise<void>): Client {
  return {
    get name() {
      return current().name;
    },
    call: async (service, endpoint, body, options) => {
      await ready();
      return current().call(service, endpoint, body, options);
    },
    callRequest: async (request, options) => {
      await ready();
      return current().callRequest(request, options);
    },
    stream: <Res, Req>(service: string, endpoint: string, body?: Req, options?: CallOptions) =>
      lazyStream<Req, Res>(ready().then(() => current().stream<Res, Req>(service, endpoint, body, options))),
    publish: async (topic, payload, options) => {
      await ready();
      return current().publish(topic, payload, options);
    },
    publishMessage: async (message, options) => {
      await ready();
      return current().publishMessage(message, options);
    },
    newRequest: (service, endpoint, body, options) => current().newRequest(service, endpoint, body, options),
    newMessage: (topic, payload, options) => current().newMessage(topic, payload, options),
    service(service, handler, options) {
      return createServiceClient(this, service, handler, options);
    },
    close: () => current().close(),
  };
}

/** A stream whose every operation first waits for the real stream. */
function lazyStream<Req, Res>(inner: Promise<ClientStream<Req, Res>>): ClientStream<Req, Res> {
  inner.catch(() => {}); // surfaced by the first operation
  let request: ClientStream<Req, Res>["request"] | undefined;
  void inner.then((s) => {
    request = s.request;
  });
  return {
    get request() {
      if (!request) throw new Error("stream.request is available after the first operation");
      return request;
    },
    send: async (m) => (await inner).send(m),
    closeSend: async () => (await inner).closeSend(),
    recv: async () => (await inner).recv(),
    response: async () => (await inner).response(),
    close: async () => (await inner.catch(() => undefined))?.close(),
    async *[Symbol.asyncIterator]() {
      yield* await inner;
    },
    [Symbol.asyncDispose]: async () => (await inner.catch(() => undefined))?.close(),
  };
}
