import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { CallOptions, ClientStream, Context, StreamKind } from "@microts/core";

/** One method of a service descriptor, as far as the types here need it. */
type MethodInfo = GenServiceMethods[string];

type In<M extends MethodInfo> = M["input"] extends DescMessage ? M["input"] : never;
type Out<M extends MethodInfo> = M["output"] extends DescMessage ? M["output"] : never;

/** What a handler method may return for `O`: a message or a plain init object. */
export type ResponseOf<O extends DescMessage> = MessageShape<O> | MessageInitShape<O>;

/**
 * The implementation of one RPC, by its kind. Requests arrive as messages of the input schema;
 * responses may be messages or init objects of the output schema.
 * - unary: `(request, ctx) => response | Promise<response>`
 * - server streaming: `(request, ctx) => AsyncIterable<response>` (an `async function*`)
 * - client streaming: `(requests: AsyncIterable, ctx) => Promise<response>`
 * - bidi streaming: `(requests: AsyncIterable, ctx) => AsyncIterable<response>`
 */
export type ProtoMethodImpl<M extends MethodInfo> = M["methodKind"] extends "unary"
  ? (request: MessageShape<In<M>>, ctx: Context) => ResponseOf<Out<M>> | Promise<ResponseOf<Out<M>>>
  : M["methodKind"] extends "server_streaming"
    ? (request: MessageShape<In<M>>, ctx: Context) => AsyncIterable<ResponseOf<Out<M>>>
    : M["methodKind"] extends "client_streaming"
      ? (requests: AsyncIterable<MessageShape<In<M>>>, ctx: Context) => Promise<ResponseOf<Out<M>>>
      : (requests: AsyncIterable<MessageShape<In<M>>>, ctx: Context) => AsyncIterable<ResponseOf<Out<M>>>;

/** A service descriptor as protoc-gen-es v2 generates it (`GenService<...>`), for the types here. */
export type ServiceDesc = { readonly method: Record<string, MethodInfo> };

/**
 * An implementation of a whole service, `ProtoServiceImpl<typeof Greeter>`: one method per RPC,
 * named in lowerCamelCase (`hello`), see {@link ProtoMethodImpl}.
 */
export type ProtoServiceImpl<S extends ServiceDesc> = {
  [K in keyof S["method"]]: ProtoMethodImpl<S["method"][K]>;
};

/**
 * The client call of one RPC, by its kind:
 * - unary: `(request, options?) => Promise<response message>`
 * - server streaming: `(request, options?) => ClientStream` (iterate it for the responses)
 * - client and bidi streaming: `(options?) => ClientStream` (`send`, `closeSend`, iterate or
 *   `response()`)
 */
export type ProtoClientMethod<M extends MethodInfo> = M["methodKind"] extends "unary"
  ? (request: MessageInitShape<In<M>>, options?: CallOptions) => Promise<MessageShape<Out<M>>>
  : M["methodKind"] extends "server_streaming"
    ? (
        request: MessageInitShape<In<M>>,
        options?: CallOptions,
      ) => ClientStream<MessageInitShape<In<M>>, MessageShape<Out<M>>>
    : (options?: CallOptions) => ClientStream<MessageInitShape<In<M>>, MessageShape<Out<M>>>;

/**
 * A typed client of a whole service, `ProtoClient<typeof Greeter>`: one method per RPC, named in
 * lowerCamelCase (`hello`), see {@link ProtoClientMethod}.
 */
export type ProtoClient<S extends ServiceDesc> = {
  [K in keyof S["method"]]: ProtoClientMethod<S["method"][K]>;
};

/** The core stream kind of a protobuf method kind. */
export function streamKind(methodKind: MethodInfo["methodKind"]): StreamKind {
  switch (methodKind) {
    case "unary":
      return "unary";
    case "server_streaming":
      return "server";
    case "client_streaming":
      return "client";
    case "bidi_streaming":
      return "bidi";
  }
}
