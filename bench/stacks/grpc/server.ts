import * as grpc from "@grpc/grpc-js";
import type { EchoBody, StreamRequest } from "../../lib/payload.js";
import { runServer } from "../../lib/server-harness.js";
import { loadBench } from "./service.js";

// grpc-js server: Echo (unary) and Stream (server stream) from bench.proto.
runServer(async () => {
  const { service } = loadBench();
  const server = new grpc.Server();
  server.addService(service, {
    Echo(call: grpc.ServerUnaryCall<EchoBody, EchoBody>, cb: grpc.sendUnaryData<EchoBody>) {
      cb(null, { data: call.request.data });
    },
    Stream(call: grpc.ServerWritableStream<StreamRequest, EchoBody>) {
      const item = { data: "x".repeat(Math.min(call.request.size, 16 << 20)) };
      const count = Math.min(call.request.count, 1_000_000);
      let i = 0;
      // Respect backpressure: write until the buffer is full, continue on "drain".
      const pump = (): void => {
        while (i < count) {
          i++;
          if (!call.write(item)) {
            call.once("drain", pump);
            return;
          }
        }
        call.end();
      };
      pump();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    async close() {
      server.forceShutdown();
    },
  };
});
