import type { Envelope } from "@microts/core";
import { decodeProtoRpcRequest, encodeProtoRpcResponse } from "./protorpc-envelope.js";

/**
 * Go Micro's proto-RPC envelope for the RPC server (`createServer({ envelopes: [...] })`):
 * `application/protobuf`, `application/proto-rpc` and `application/octet-stream` requests
 * without routing headers, as older Go clients send them. The body inside is protobuf, decoded
 * by the server's `application/protobuf` codec (register `createProtobufCodec()` too).
 */
export function protoRpcEnvelope(): Envelope {
  return {
    contentTypes: ["application/protobuf", "application/proto-rpc", "application/octet-stream"],
    bodyContentType: "application/protobuf",
    decodeRequest(data) {
      const r = decodeProtoRpcRequest(data);
      return { endpoint: r.serviceMethod, id: String(r.seq), body: r.body };
    },
    encodeResponse(r) {
      return encodeProtoRpcResponse({ serviceMethod: r.endpoint, seq: r.id, body: r.body, error: r.error });
    },
  };
}
