import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { CallOptions, Client } from "@microts/core";
import type { ProtoClient } from "./proto-service-types.js";

/** Options for {@link protoClient}: defaults for every call, plus the handler name. */
export interface ProtoClientOptions extends CallOptions {
  /**
   * Handler name, the `Type` of `Type.Method`. Default: the proto service's name (`Greeter`), as
   * protoc-gen-micro's generated clients call `Greeter.Hello`.
   */
  handler?: string | undefined;
  /**
   * Content type of requests. Default `application/protobuf` (the client needs
   * `createProtobufCodec()` among its codecs). Use `application/json` with
   * `createProtoJsonCodec()` for protojson, or a gRPC content type with `createGrpcCodec()`.
   */
  contentType?: string | undefined;
}

/**
 * A typed client of a protobuf service on `serviceName` (the registered micro service, e.g.
 * `greeter`): one method per RPC, named in lowerCamelCase (`hello`), see {@link ProtoClient}.
 * Each call goes through `client.call`/`client.stream` to `Greeter.Hello` with the request and
 * response schemas as `requestType`/`responseType`; per-call options override `defaults`.
 * Requests may be messages or plain init objects; responses are messages. Errors are the
 * client's MicroErrors (the handler's error with its id, code and detail).
 */
export function protoClient<S extends GenServiceMethods>(
  client: Client,
  serviceName: string,
  service: GenService<S>,
  defaults: ProtoClientOptions = {},
): ProtoClient<GenService<S>> {
  const desc = service as unknown as DescService;
  const { handler = desc.name, ...callDefaults } = defaults;
  const out: Record<string, unknown> = {};
  for (const m of desc.methods)
    out[m.localName] = clientMethod(client, serviceName, handler, m, callDefaults);
  return out as ProtoClient<GenService<S>>;
}

function clientMethod(
  client: Client,
  serviceName: string,
  handler: string,
  m: DescMethod,
  defaults: CallOptions,
): unknown {
  const endpoint = `${handler}.${m.name}`;
  const opts = (options: CallOptions | undefined): CallOptions => ({
    contentType: "application/protobuf",
    ...defaults,
    ...options,
    requestType: m.input,
    responseType: m.output,
  });
  switch (m.methodKind) {
    case "unary":
      return (request: unknown, options?: CallOptions) =>
        client.call(serviceName, endpoint, request, opts(options));
    case "server_streaming":
      return (request: unknown, options?: CallOptions) =>
        client.stream(serviceName, endpoint, request ?? {}, opts(options));
    default:
      return (options?: CallOptions) => client.stream(serviceName, endpoint, undefined, opts(options));
  }
}
