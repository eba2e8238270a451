/**
 * Turns values into bytes and back, for one content type: Go Micro's `codec.Marshaler`.
 * The RPC layer picks a codec by the message's `Content-Type` header.
 *
 * `type` is an optional, codec-specific description of the expected value (a protobuf message
 * schema, for instance). Codecs that need none ignore it.
 */
export interface Codec {
  /** Short name: `json`, `bytes`, `proto`, ... */
  readonly name: string;
  /** The content type this codec reads and writes, e.g. `application/json`. */
  readonly contentType: string;
  /** Encodes one value. Throws MicroError 400/500 when the value cannot be encoded. */
  marshal(value: unknown, type?: unknown): Uint8Array;
  /**
   * Decodes one value. An empty body decodes to the codec's zero value (`{}` for JSON, an empty
   * array for bytes). Throws MicroError 400 for bytes that are not a valid encoding.
   */
  unmarshal(data: Uint8Array, type?: unknown): unknown;
}
