import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import {
  type Context,
  type Handler,
  type HandlerMethod,
  type HandlerOptions,
  toEndpoint,
} from "@microts/core";
import { describeMessage } from "./describe-message.js";
import { type ProtoServiceImpl, streamKind } from "./proto-service-types.js";

/** Options for {@link protoHandler}. */
export interface ProtoHandlerOptions {
  /**
   * Handler name, the `Type` of `Type.Method`. Default: the proto service's name (`Greeter`),
   * as protoc-gen-micro's `RegisterGreeterHandler` names it, whatever the proto package.
   */
  name?: string | undefined;
  /** Not advertised in the registry (Go's `InternalHandler`). Default false. */
  internal?: boolean | undefined;
  /** Extra endpoint metadata per RPC, keyed by the RPC's name as in the .proto (`Hello`). */
  metadata?: Record<string, Record<string, string>> | undefined;
  /**
   * Describe the request and response messages of streaming RPCs in the registry too. Default
   * false: like Go Micro, whose generated stream handlers take `(ctx, stream)`, streaming
   * endpoints are registered as `Context` → `Stream` with `stream: "true"`.
   */
  describeStreams?: boolean | undefined;
}

/**
 * A server handler for a protobuf service: `server.handle(protoHandler(Greeter, impl))` serves
 * `Greeter.Hello` and friends with the request and response schemas attached, so the protobuf,
 * protojson and gRPC codecs decode requests into messages and encode the responses.
 *
 * `implementation` has one method per RPC, named in lowerCamelCase as protobuf-es names them
 * (`hello` for `rpc Hello`), see {@link ProtoServiceImpl}; it is called with `this` bound to it.
 * Endpoints are registered with Go-style descriptions of the messages ({@link describeMessage}).
 * Throws TypeError when an RPC has no implementation.
 */
export function protoHandler<S extends GenServiceMethods>(
  service: GenService<S>,
  implementation: ProtoServiceImpl<GenService<S>>,
  options: ProtoHandlerOptions = {},
): Handler {
  const desc = service as unknown as DescService;
  const name = options.name ?? desc.name;
  const impl = implementation as unknown as Record<string, unknown>;
  const methods = new Map<string, HandlerMethod>();
  for (const m of desc.methods) {
    const fn = impl[m.localName];
    if (typeof fn !== "function") {
      throw new TypeError(
        `protoHandler: ${desc.typeName} has no implementation of ${m.localName} (rpc ${m.name})`,
      );
    }
    methods.set(m.name, toHandlerMethod(name, m, fn.bind(implementation), options));
  }
  const handlerOptions: HandlerOptions = { name, internal: options.internal };
  return {
    name,
    methods,
    options: handlerOptions,
    endpoints: () => [...methods.values()].map(toEndpoint),
  };
}

function toHandlerMethod(
  handler: string,
  m: DescMethod,
  fn: (input: unknown, ctx: Context) => unknown,
  options: ProtoHandlerOptions,
): HandlerMethod {
  const kind = streamKind(m.methodKind);
  const describe = kind === "unary" || options.describeStreams === true;
  return {
    method: m.localName,
    endpoint: `${handler}.${m.name}`,
    kind,
    spec: {
      requestType: m.input,
      responseType: m.output,
      request: describe ? describeMessage(m.input) : undefined,
      response: describe ? describeMessage(m.output) : undefined,
      metadata: options.metadata?.[m.name],
    },
    fn,
  };
}
