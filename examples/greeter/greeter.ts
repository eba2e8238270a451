import { type Context, MicroError } from "@microts/core";

export interface HelloRequest {
  name: string;
}
export interface HelloResponse {
  msg: string;
}
export interface UserCreated {
  id: number;
  name: string;
}

/** The greeter handler: endpoints `Greeter.Hello` and `Greeter.Count` (a server stream). */
export class Greeter {
  async hello(req: HelloRequest, _ctx: Context): Promise<HelloResponse> {
    if (!req.name) throw MicroError.badRequest("greeter", "name is required");
    return { msg: `Hello ${req.name}` };
  }

  async *count(req: { n: number }, ctx: Context): AsyncGenerator<{ i: number }> {
    for (let i = 0; i < req.n && !ctx.signal.aborted; i++) yield { i };
  }
}
