import { createServer, type Socket } from "node:net";
import type { EchoBody } from "../../lib/payload.js";
import { runServer } from "../../lib/server-harness.js";
import { FrameType, frame, frameReader, frameWriter } from "./framing.js";

// The raw TCP limit: echo over length-prefixed frames, nothing else. With `json`, the hand-written
// JSON protocol: each request is parsed and the answer written with JSON.parse and JSON.stringify.
runServer(async ({ args }) => {
  const batched = args.batched === true;
  const json = args.json === true;
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    const write = frameWriter(socket, batched);
    socket.on(
      "data",
      frameReader((type, id, payload) => {
        if (type === FrameType.Echo) {
          write(frame(FrameType.Echo, id, json ? jsonEcho(payload) : payload));
        } else if (type === FrameType.StreamRequest) {
          const count = Math.min(payload.readUInt32BE(0), 1_000_000);
          const item = Buffer.alloc(payload.readUInt32BE(4), 0x78);
          for (let i = 0; i < count; i++) write(frame(FrameType.StreamItem, id, item));
          write(frame(FrameType.StreamEnd, id, Buffer.alloc(0)));
        }
      }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === "string") throw new Error("no TCP address");
  return {
    address: `127.0.0.1:${addr.port}`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
});

/** The answer of the JSON protocol: `{ data }` of the request, parsed from UTF-8 and written back. */
function jsonEcho(payload: Buffer): Buffer {
  const req = JSON.parse(payload.toString("utf8")) as EchoBody;
  return Buffer.from(JSON.stringify({ data: req.data }), "utf8");
}
