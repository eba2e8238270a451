import v8 from "node:v8";
import vm from "node:vm";
import type { Message, Socket } from "./transport/transport.js";

/**
 * Test helper: `socket`, whose messages read through its async iterator are each remembered
 * weakly in `seen` (tryRecv is left out, so every message goes that way).
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

/** Test helper: two full collections, each after the running job, so that WeakRefs can clear. */
export async function collectGarbage(): Promise<void> {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  for (let i = 0; i < 2; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
}
