import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

/** bench/proto/bench.proto, shared with the micro-ts protobuf stack. */
const PROTO = fileURLToPath(new URL("../../proto/bench.proto", import.meta.url));

/** The `bench.Bench` service definition and client constructor, loaded with proto-loader. */
export function loadBench(): { service: grpc.ServiceDefinition; Client: grpc.ServiceClientConstructor } {
  const def = protoLoader.loadSync(PROTO, { keepCase: true, longs: Number, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    bench: { Bench: grpc.ServiceClientConstructor };
  };
  return { service: pkg.bench.Bench.service, Client: pkg.bench.Bench };
}
