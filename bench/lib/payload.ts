/** The JSON request/response body every RPC stack echoes: `{ data: "xxx..." }` with `bytes` characters. */
export interface EchoBody {
  data: string;
}

/** A server-stream request: `count` messages of `size` bytes each. */
export interface StreamRequest {
  count: number;
  size: number;
}

/** An echo body whose `data` is `bytes` ASCII characters (so its UTF-8 size is `bytes` plus the JSON frame). */
export function echoBody(bytes: number): EchoBody {
  return { data: "x".repeat(bytes) };
}

/** A raw payload of `bytes` bytes. */
export function rawPayload(bytes: number): Buffer {
  return Buffer.alloc(bytes, 0x78);
}

/** Throws when `rsp` is not an echo of `req` (used once per round and in smoke mode, not per request). */
export function checkEcho(req: EchoBody, rsp: unknown): void {
  const data = (rsp as { data?: unknown } | null)?.data;
  if (typeof data !== "string" || data.length !== req.data.length) {
    throw new Error(
      `bad echo: expected ${req.data.length} bytes of data, got ${JSON.stringify(rsp)?.slice(0, 80)}`,
    );
  }
}
