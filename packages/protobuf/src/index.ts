/**
 * Protobuf for micro-ts: the `application/protobuf`, protojson and gRPC-framed codecs, handlers
 * and typed clients from protobuf-es (protoc-gen-es v2) service descriptors, and Go Micro's
 * legacy JSON-RPC and proto-RPC envelopes.
 */

export { describeMessage, goCamelCase, goTypeName } from "./describe-message.js";
export type { GrpcCodecOptions } from "./grpc-codec.js";
export { createGrpcCodec, createGrpcCodecs } from "./grpc-codec.js";
export { DEFAULT_MAX_GRPC_MESSAGE_BYTES, decodeGrpcFrame, encodeGrpcFrame } from "./grpc-frame.js";
export type { ProtoClientOptions } from "./proto-client.js";
export { protoClient } from "./proto-client.js";
export type { ProtoHandlerOptions } from "./proto-handler.js";
export { protoHandler } from "./proto-handler.js";
export type {
  ProtoClient,
  ProtoClientMethod,
  ProtoMethodImpl,
  ProtoServiceImpl,
  ResponseOf,
  ServiceDesc,
} from "./proto-service-types.js";
export type { ProtobufCodecOptions } from "./protobuf-codec.js";
export { createProtobufCodec } from "./protobuf-codec.js";
export type { ProtoJsonCodecOptions } from "./protojson-codec.js";
export { createProtoJsonCodec } from "./protojson-codec.js";
export type {
  ProtoRpcRequest,
  ProtoRpcRequestInit,
  ProtoRpcResponse,
  ProtoRpcResponseInit,
} from "./protorpc-envelope.js";
export {
  decodeProtoRpcRequest,
  decodeProtoRpcResponse,
  encodeProtoRpcRequest,
  encodeProtoRpcResponse,
} from "./protorpc-envelope.js";
export { protoRpcEnvelope } from "./protorpc-envelope-plugin.js";
export { isMessageSchema } from "./schema.js";
