import { decodeJsonRpcRequest, encodeJsonRpcResponse } from "./json-rpc-envelope.js";

/** A request unwrapped from a legacy envelope. */
export interface EnvelopeRequest {
  /** `Type.Method`. */
  endpoint: string;
  /** The request id, echoed in the response. */
  id: string;
  /** The inner body, for the codec of `Envelope.bodyContentType`. */
  body: Uint8Array;
}

/** What goes into a legacy envelope's response. */
export interface EnvelopeResponse {
  endpoint: string;
  id: string;
  /** The encoded result; undefined on error. */
  body?: Uint8Array | undefined;
  /** The error (a MicroError's wire JSON); undefined on success. */
  error?: string | undefined;
}

/**
 * A legacy RPC envelope: Go Micro's older codecs carried the method and id inside the body
 * rather than in `Micro-*` headers (JSON-RPC 1.0, proto-RPC). The server unwraps a request in
 * one when it arrives without `Micro-Service`/`Micro-Method`/`Micro-Endpoint` headers (or with
 * `Micro-Target`), as Go Micro's server does, and wraps the response the same way.
 */
export interface Envelope {
  /** Content types whose header-less requests use this envelope. */
  readonly contentTypes: readonly string[];
  /** Content type of the body inside, picked from the server's codecs. */
  readonly bodyContentType: string;
  /** Throws MicroError 400 for a malformed envelope. */
  decodeRequest(data: Uint8Array): EnvelopeRequest;
  encodeResponse(response: EnvelopeResponse): Uint8Array;
}

/**
 * Go Micro's JSON-RPC 1.0 envelope, for `application/json` and `application/json-rpc` requests
 * without routing headers: `{"params":[body],"id":"0","method":"Greeter.Hello"}`. On by default.
 */
export function jsonRpcEnvelope(): Envelope {
  return {
    contentTypes: ["application/json", "application/json-rpc"],
    bodyContentType: "application/json",
    decodeRequest(data) {
      const r = decodeJsonRpcRequest(data);
      return { endpoint: r.method, id: r.id, body: r.params };
    },
    encodeResponse(r) {
      return encodeJsonRpcResponse({ id: r.id, result: r.body, error: r.error });
    },
  };
}
