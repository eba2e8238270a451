import { connect, type Socket } from "node:net";
import { runClient } from "../../lib/client-harness.js";
import { rawPayload } from "../../lib/payload.js";
import { FrameType, frame, frameReader, frameWriter } from "./framing.js";

interface Conn {
  socket: Socket;
  write: (buf: Buffer) => void;
  pending: Map<number, { resolve: (v: number) => void; reject: (e: Error) => void; items: number }>;
}

function open(address: string, batched: boolean): Promise<Conn> {
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
        p.resolve(type === FrameType.Echo ? payload.length : p.items);
      }),
    );
  });
}

function splitHostPort(address: string): [string, number] {
  const i = address.lastIndexOf(":");
  return [address.slice(0, i), Number(address.slice(i + 1))];
}

// One connection, requests multiplexed by id (the best case for a hand-written protocol).
runClient<Buffer>(async ({ args, address }) => {
  const batched = args.batched === true;
  const conn = await open(address, batched);
  const extra: Socket[] = [];
  let seq = 0;
  const request = (type: number, payload: Buffer): Promise<number> =>
    new Promise((resolve, reject) => {
      seq = (seq + 1) >>> 0;
      const id = seq;
      conn.pending.set(id, { resolve, reject, items: 0 });
      conn.write(frame(type, id, payload));
    });
  return {
    makeRequest: rawPayload,
    unary: (req) => request(FrameType.Echo, req),
    check(req, rsp) {
      if (rsp !== req.length) throw new Error(`bad echo: ${String(rsp)} bytes for ${req.length}`);
    },
    stream(count, bytes) {
      const p = Buffer.alloc(8);
      p.writeUInt32BE(count, 0);
      p.writeUInt32BE(bytes, 4);
      return request(FrameType.StreamRequest, p);
    },
    async connect() {
      const c = await open(address, batched);
      extra.push(c.socket);
      await new Promise<number>((resolve, reject) => {
        c.pending.set(1, { resolve, reject, items: 0 });
        c.write(frame(FrameType.Echo, 1, rawPayload(16)));
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
