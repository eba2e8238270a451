import { MicroError } from "../errors/micro-error.js";
import { goJson } from "../internal/go-json.js";
import { arrayElements, objectMembers, type Span } from "./json-scan.js";

const CODEC_ID = "go.micro.codec";
const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Go Micro's legacy JSON-RPC 1.0 envelope (`codec/jsonrpc`, content types `application/json-rpc`
 * and, for peers without `Micro-*` headers, `application/json`). Pure functions: the RPC server
 * and client wrap and unwrap bodies with them.
 */

/** A JSON-RPC request as read from the wire. */
export interface JsonRpcRequest {
  /** `Type.Method`, e.g. `Greeter.Hello`. */
  method: string;
  /** The request id as Go prints it (`fmt.Sprintf("%v", id)`): strings as is, numbers `%g`-style. */
  id: string;
  /** The raw JSON text of `params[0]` (the body); empty when there is no body. */
  params: Uint8Array;
}

/** A JSON-RPC response as read from the wire. */
export interface JsonRpcResponse {
  id: string;
  /** The raw JSON text of `result`; empty when it is `null` or missing. */
  result: Uint8Array;
  /** The error string; undefined on success. Go Micro puts a MicroError's JSON here. */
  error: string | undefined;
}

/** What {@link encodeJsonRpcRequest} takes. */
export interface JsonRpcRequestInit {
  method: string;
  /** Go Micro sends the Micro id as a string (`"0"`); numbers are written as strings too. */
  id: string | number;
  /**
   * The body: a `Uint8Array` holding already-encoded JSON (a codec's output) is embedded as is,
   * without surrounding whitespace; any other value is written as Go's encoding/json would.
   * Default `null` (Go's nil body).
   */
  params?: unknown;
}

/** What {@link encodeJsonRpcResponse} takes. */
export interface JsonRpcResponseInit {
  id: string | number;
  /** The body, as `params` above. Default `null`. */
  result?: unknown;
  /** The error; `undefined` or `""` writes `null`. */
  error?: string | undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const EMPTY: Uint8Array = new Uint8Array(0);

/**
 * `{"params":[<body>],"id":"<id>","method":"Greeter.Hello"}\n`: Go Micro's `clientRequest`
 * (field order as declared there), written by `json.Encoder`.
 */
export function encodeJsonRpcRequest(request: JsonRpcRequestInit): Uint8Array {
  const body = rawJson(request.params);
  return encoder.encode(
    `{"params":[${body}],"id":${goJson(String(request.id))},"method":${goJson(request.method)}}\n`,
  );
}

/** `{"id":"<id>","result":<body or null>,"error":null|"<string>"}\n`: Go Micro's `serverResponse`. */
export function encodeJsonRpcResponse(response: JsonRpcResponseInit): Uint8Array {
  const error = response.error ? goJson(response.error) : "null";
  return encoder.encode(
    `{"id":${goJson(String(response.id))},"result":${rawJson(response.result)},"error":${error}}\n`,
  );
}

/**
 * Reads a request envelope. Throws MicroError 400 when it is not JSON, not an object, `method`
 * is not a string or `params` is not an array. `params` missing, `null` or `[]` give an empty body.
 */
export function decodeJsonRpcRequest(data: Uint8Array): JsonRpcRequest {
  const { text, value, members } = parseEnvelope("request", data);
  const method = value.method ?? "";
  if (typeof method !== "string") throw bad("request: method is not a string");
  let params = EMPTY;
  const span = members.get("params");
  if (span && value.params !== null && value.params !== undefined) {
    if (!Array.isArray(value.params)) throw bad("request: params is not an array");
    const first = arrayElements(text, span)[0];
    if (first) params = slice(text, first);
  }
  return { method, id: goId(value.id), params };
}

/**
 * Reads a response envelope. Throws MicroError 400 when it is not a JSON object or `error` is
 * neither null nor a string (Go: `invalid error`). An empty error string becomes
 * `unspecified error`, as in Go.
 */
export function decodeJsonRpcResponse(data: Uint8Array): JsonRpcResponse {
  const { text, value, members } = parseEnvelope("response", data);
  let error: string | undefined;
  if (value.error !== null && value.error !== undefined) {
    if (typeof value.error !== "string") throw bad(`response: invalid error ${goJson(value.error)}`);
    error = value.error === "" ? "unspecified error" : value.error;
  }
  const span = members.get("result");
  const result = span && value.result !== null && value.result !== undefined ? slice(text, span) : EMPTY;
  return { id: goId(value.id), result, error };
}

function parseEnvelope(what: string, data: Uint8Array) {
  let text: string;
  let value: unknown;
  try {
    text = decoder.decode(data);
    value = JSON.parse(text);
  } catch (err) {
    throw bad(`${what}: not JSON: ${messageOf(err)}`, err);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw bad(`${what}: not a JSON object`);
  }
  return { text, value: value as Record<string, unknown>, members: objectMembers(text) };
}

function slice(text: string, span: Span): Uint8Array {
  return encoder.encode(text.slice(span[0], span[1]));
}

function rawJson(value: unknown): string {
  if (value === undefined || value === null) return "null";
  if (value instanceof Uint8Array) {
    const text = decoder.decode(value).trim();
    return text === "" ? "null" : text;
  }
  return goJson(value);
}

/** `fmt.Sprintf("%v", id)` of a JSON-decoded Go `interface{}`. */
function goId(id: unknown): string {
  if (id === undefined || id === null) return "<nil>";
  if (typeof id === "string") return id;
  if (typeof id === "number") return goFloatV(id);
  if (typeof id === "boolean") return String(id);
  return goJson(id);
}

/** Go's `%v` of a float64 (`%g`, shortest digits): exponent form below 1e-4 and from 1e6 (`1e+06`). */
function goFloatV(n: number): string {
  const [mantissa, e] = n.toExponential().split("e") as [string, string];
  const exp = Number(e);
  if (exp < -4 || exp >= 6) {
    return `${mantissa}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  return String(n);
}

function bad(detail: string, cause?: unknown): MicroError {
  return MicroError.badRequest(CODEC_ID, `json-rpc: ${detail}`, cause === undefined ? {} : { cause });
}
