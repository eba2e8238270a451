/**
 * Test helpers: raw UDP sockets standing in for Go peers on the loopback interface, and a byte
 * builder for hand-made packets. Never used by the package itself.
 */
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";

export const GROUP = "224.0.0.251";
export const LO = "127.0.0.1";

export interface Packet {
  bytes: Buffer;
  from: RemoteInfo;
}

/** A socket that collects every datagram it receives, with a bounded wait for the next match. */
export class RawPeer {
  readonly packets: Packet[] = [];
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: Socket) {
    socket.on("message", (bytes, from) => {
      this.packets.push({ bytes, from });
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** A socket on 5353 in the group on loopback, like a Go responder or listener. */
  static async multicast(port = 5353): Promise<RawPeer> {
    const s = createSocket({ type: "udp4", reuseAddr: true });
    await new Promise<void>((resolve) => s.bind(port, "0.0.0.0", resolve));
    s.setMulticastInterface(LO);
    s.addMembership(GROUP, LO);
    s.setMulticastLoopback(true);
    return new RawPeer(s);
  }

  /** An ephemeral loopback socket sending multicast via loopback, like a Go querier. */
  static async ephemeral(): Promise<RawPeer> {
    const s = createSocket({ type: "udp4" });
    await new Promise<void>((resolve) => s.bind(0, LO, resolve));
    s.setMulticastInterface(LO);
    return new RawPeer(s);
  }

  send(bytes: Uint8Array, port = 5353, address = GROUP): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.send(bytes, port, address, (e) => (e ? reject(e) : resolve())),
    );
  }

  /** Resolves with the first collected packet (from `start` on) that `match` accepts. */
  async next(match: (p: Packet) => boolean, timeoutMs: number, start = 0): Promise<Packet> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.packets.slice(start).find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching packet within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** Big-endian byte builder that remembers where names were written (for hand-made pointers). */
export class Bytes {
  private readonly out: number[] = [];
  get offset(): number {
    return this.out.length;
  }
  u8(...v: number[]): this {
    this.out.push(...v);
    return this;
  }
  u16(v: number): this {
    return this.u8(v >> 8, v & 0xff);
  }
  u32(v: number): this {
    return this.u16(Math.floor(v / 0x10000)).u16(v % 0x10000);
  }
  /** Labels, then either a pointer to `pointer` or the root label. */
  name(labels: string[], pointer?: number): this {
    for (const l of labels) {
      const b = Buffer.from(l, "utf8");
      this.u8(b.length, ...b);
    }
    return pointer === undefined ? this.u8(0) : this.u16(0xc000 | pointer);
  }
  /** Reserves a 16-bit length; call the returned function after writing the data to fill it in. */
  length(): () => void {
    const at = this.out.length;
    this.u16(0);
    return () => {
      const n = this.out.length - at - 2;
      this.out[at] = n >> 8;
      this.out[at + 1] = n & 0xff;
    };
  }
  bytes(): Buffer {
    return Buffer.from(this.out);
  }
}
