import * as grpc from "@grpc/grpc-js";
import { runClient } from "../../lib/client-harness.js";
import { checkEcho, type EchoBody, echoBody } from "../../lib/payload.js";
import { loadBench } from "./service.js";

type EchoFn = (req: EchoBody, cb: (err: grpc.ServiceError | null, rsp?: EchoBody) => void) => void;
type StreamFn = (req: { count: number; size: number }) => grpc.ClientReadableStream<EchoBody>;

// grpc-js client: one channel (HTTP/2, requests multiplexed).
runClient<EchoBody>(async ({ address }) => {
  const { Client } = loadBench();
  const newClient = (): grpc.Client =>
    new Client(address, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
  const client = newClient();
  const extra: grpc.Client[] = [];
  const call = (c: grpc.Client, req: EchoBody): Promise<EchoBody | undefined> =>
    new Promise((resolve, reject) =>
      (c as unknown as { Echo: EchoFn }).Echo(req, (err, rsp) => (err ? reject(err) : resolve(rsp))),
    );
  return {
    makeRequest: echoBody,
    unary: (req) => call(client, req),
    check: checkEcho,
    stream(count, size) {
      return new Promise((resolve, reject) => {
        let n = 0;
        const s = (client as unknown as { Stream: StreamFn }).Stream({ count, size });
        s.on("data", () => n++);
        s.on("error", reject);
        s.on("end", () => resolve(n));
      });
    },
    async connect() {
      // A channel of its own (local subchannel pool): one more HTTP/2 connection.
      const c = newClient();
      extra.push(c);
      checkEcho(echoBody(16), await call(c, echoBody(16)));
    },
    async disconnect() {
      for (const c of extra.splice(0)) c.close();
    },
    async close() {
      for (const c of extra) c.close();
      client.close();
    },
  };
});
