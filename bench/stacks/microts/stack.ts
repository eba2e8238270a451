import type { Codec, EndpointSpec, Transport } from "@microts/core";
import { createMemoryTransport } from "@microts/core";
import { createHttpTransport } from "@microts/http";
import { createNatsTransport } from "@microts/nats";
import { createTcpTransport } from "@microts/tcp";
import { PayloadSchema, StreamRequestSchema } from "./gen/bench_pb.js";

/** The micro-ts variants measured: a transport, and the codec requests use. */
export type Variant = "http" | "tcp" | "tcp-poll" | "nats" | "memory" | "http-proto";

/** The `busyPollMs` of the `tcp-poll` variant: a window far longer than a loopback round trip. */
export const BENCH_BUSY_POLL_MS = 0.5;

/** What a variant plugs into createServer/createClient. */
export interface StackParts {
  transport: Transport;
  codecs: Codec[];
  contentType: string;
  /** Per-endpoint codec types (protobuf schemas), empty for JSON. */
  endpoints: { echo?: EndpointSpec; stream?: EndpointSpec };
  /** Call options for `Bench.Echo` and `Bench.Stream`. */
  echoTypes: { requestType?: unknown; responseType?: unknown };
  streamTypes: { requestType?: unknown; responseType?: unknown };
}

type CodecFactory = (options?: { contentType?: string }) => Codec;

/**
 * `createProtobufCodec` from @microts/protobuf when that package exports it; otherwise the reason
 * the protobuf stack is unavailable.
 */
export async function protobufCodecFactory(): Promise<CodecFactory | string> {
  try {
    const mod = (await import("@microts/protobuf")) as Record<string, unknown>;
    const f = mod.createProtobufCodec;
    return typeof f === "function"
      ? (f as CodecFactory)
      : "@microts/protobuf does not export createProtobufCodec yet";
  } catch (err) {
    return `@microts/protobuf cannot be loaded: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** Builds the parts of one variant (NATS: the shared server at 127.0.0.1:4222 unless `natsUrl`). */
export async function stackParts(variant: Variant, natsUrl = "nats://127.0.0.1:4222"): Promise<StackParts> {
  const json = { codecs: [], contentType: "application/json", endpoints: {}, echoTypes: {}, streamTypes: {} };
  switch (variant) {
    case "http":
      return { transport: createHttpTransport(), ...json };
    case "tcp":
      return { transport: createTcpTransport(), ...json };
    case "tcp-poll":
      return { transport: createTcpTransport({ busyPollMs: BENCH_BUSY_POLL_MS }), ...json };
    case "memory":
      return { transport: createMemoryTransport(), ...json };
    case "nats":
      return { transport: createNatsTransport({ address: natsUrl }), ...json };
    case "http-proto": {
      const factory = await protobufCodecFactory();
      if (typeof factory === "string") throw new Error(factory);
      const echo = { requestType: PayloadSchema, responseType: PayloadSchema };
      const stream = { requestType: StreamRequestSchema, responseType: PayloadSchema };
      return {
        transport: createHttpTransport(),
        codecs: [factory()],
        contentType: "application/protobuf",
        endpoints: { echo, stream },
        echoTypes: echo,
        streamTypes: stream,
      };
    }
  }
}
