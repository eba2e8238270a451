import { connect, type Socket } from "node:net";
import { runClient } from "../../lib/client-harness.js";
import { checkEcho, type EchoBody, echoBody, rawPayload } from "../../lib/payload.js";
import { FrameType, frame, frameReader, frameWriter } from "./framing.js";

interface Conn {
  socket: Socket;
  write: (buf: Buffer) => void;
  pending: Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; items: number }>;
}

function open(address: string, batched: boolean, json: boolean): Promise<Conn> {
  const [host, port] = splitHostPort(address);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true });
    const conn: Conn = { socket, write: frameWriter(socket, batched), pending: new Map() };
    const fail = (err: Error): void => {
      for (const p of conn.pending.values()) p.reject(err);
      conn.pending.clear();
    };
    socket.once("connect", () => {
      socket.off("error", reject);
      socket.on("error", fail);
      socket.on("close", () => fail(new Error("connection closed")));
      resolve(conn);
    });
    socket.once("error", reject);
    socket.on(
      "data",
      frameReader((type, id, payload) => {
        const p = conn.pending.get(id);
        if (!p) return;
        if (type === FrameType.StreamItem) {
          p.items++;
          return;
        }
        conn.pending.delete(id);
        if (type !== FrameType.Echo) p.resolve(p.items);
        else p.resolve(json ? JSON.parse(payload.toString("utf8")) : payload.length);
      }),
    );
  });
}

function splitHostPort(address: string): [string, number] {
  const i = address.lastIndexOf(":");
  return [address.slice(0, i), Number(address.slice(i + 1))];
}

// One connection, requests multiplexed by id (the best case for a hand-written protocol). With
// `json`, requests are `{ data }` objects written with JSON.stringify, and answers are parsed.
runClient<Buffer | EchoBody>(async ({ args, address }) => {
  const batched = args.batched === true;
  const json = args.json === true;
  const conn = await open(address, batched, json);
  const extra: Socket[] = [];
  let seq = 0;
  const request = (type: number, payload: Buffer): Promise<unknown> =>
    new Promise((resolve, reject) => {
      seq = (seq + 1) >>> 0;
      const id = seq;
      conn.pending.set(id, { resolve, reject, items: 0 });
      conn.write(frame(type, id, payload));
    });
  return {
    makeRequest: json ? echoBody : rawPayload,
    unary: (req) =>
      request(FrameType.Echo, Buffer.isBuffer(req) ? req : Buffer.from(JSON.stringify(req), "utf8")),
    check(req, rsp) {
      if (!Buffer.isBuffer(req)) checkEcho(req, rsp);
      else if (rsp !== req.length) throw new Error(`bad echo: ${String(rsp)} bytes for ${req.length}`);
    },
    stream(count, bytes) {
      const p = Buffer.alloc(8);
      p.writeUInt32BE(count, 0);
      p.writeUInt32BE(bytes, 4);
      return request(FrameType.StreamRequest, p) as Promise<number>;
    },
    async connect() {
      const c = await open(address, batched, json);
      extra.push(c.socket);
      await new Promise<unknown>((resolve, reject) => {
        c.pending.set(1, { resolve, reject, items: 0 });
        c.write(frame(FrameType.Echo, 1, json ? Buffer.from(JSON.stringify(echoBody(16))) : rawPayload(16)));
      });
    },
    async disconnect() {
      for (const s of extra.splice(0)) s.destroy();
    },
    async close() {
      for (const s of extra) s.destroy();
      conn.socket.destroy();
    },
  };
});
