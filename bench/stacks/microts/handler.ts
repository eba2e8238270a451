import type { EchoBody, StreamRequest } from "../../lib/payload.js";

/** Most messages one stream request may ask for (every loop is bounded). */
const MAX_STREAM = 1_000_000;

/** The benchmark service: `Bench.Echo` (unary) and `Bench.Stream` (server stream). */
export class Bench {
  async echo(req: EchoBody): Promise<EchoBody> {
    return { data: req.data };
  }

  async *stream(req: StreamRequest): AsyncGenerator<EchoBody> {
    const item = { data: "x".repeat(Math.min(Number(req.size) || 0, 16 << 20)) };
    const count = Math.min(Number(req.count) || 0, MAX_STREAM);
    for (let i = 0; i < count; i++) yield item;
  }
}
