import { Agent, request } from "node:http";
import { MicroError } from "@microts/core";
import { parseHostPort } from "./address.js";

const ID = "go.micro.broker";

/** One subscriber endpoint: `http://<address>/?id=<node id>`. */
interface Destination {
  key: string;
  host: string;
  port: number;
  path: string;
  topic: string;
  items: Uint8Array[];
  running: boolean;
  waiters: (() => void)[];
}

/** Settings for {@link Deliveries}. */
export interface DeliveryOptions {
  timeoutMs: number;
  maxPending: number;
  onError: (error: MicroError, topic: string) => void;
}

/**
 * POSTs envelopes to subscriber nodes over keep-alive connections. Each destination has its own
 * queue, sent one request at a time, so one publisher's messages reach a subscriber in order.
 * A full queue (`maxPending`) makes `enqueue` wait (backpressure on `publish`).
 */
export class Deliveries {
  private readonly dests = new Map<string, Destination>();
  private agent = new Agent({ keepAlive: true, maxSockets: 256 });
  private generation = 0;

  constructor(private readonly options: DeliveryOptions) {}

  async enqueue(address: string, nodeId: string, topic: string, envelope: Uint8Array): Promise<void> {
    const key = `${address}\u0000${nodeId}`;
    let d = this.dests.get(key);
    if (d === undefined) {
      let hp: { host: string; port: number };
      try {
        hp = parseHostPort(address, ID);
      } catch (err) {
        this.options.onError(MicroError.from(err, ID, 400), topic);
        return;
      }
      d = {
        key,
        host: hp.host || "127.0.0.1",
        port: hp.port,
        path: `/?id=${encodeURIComponent(nodeId)}`,
        topic,
        items: [],
        running: false,
        waiters: [],
      };
      this.dests.set(key, d);
    }
    while (d.items.length >= this.options.maxPending) {
      const dest = d;
      await new Promise<void>((resolve) => dest.waiters.push(resolve));
      if (this.dests.get(key) !== dest) return; // dropped by close()
    }
    d.items.push(envelope);
    if (!d.running) {
      d.running = true;
      void this.drain(d, this.generation);
    }
  }

  /** Drops every queued delivery and closes idle connections. */
  close(): void {
    this.generation++;
    for (const d of this.dests.values()) {
      d.items.length = 0;
      for (const w of d.waiters.splice(0)) w();
    }
    this.dests.clear();
    this.agent.destroy();
    this.agent = new Agent({ keepAlive: true, maxSockets: 256 });
  }

  private async drain(d: Destination, generation: number): Promise<void> {
    while (d.items.length > 0 && generation === this.generation) {
      const body = d.items.shift() as Uint8Array;
      d.waiters.shift()?.();
      try {
        await this.post(d, body, false);
      } catch (err) {
        this.options.onError(MicroError.from(err, ID, 503), d.topic);
      }
    }
    d.running = false;
    if (d.items.length === 0 && this.dests.get(d.key) === d) this.dests.delete(d.key);
  }

  private post(d: Destination, body: Uint8Array, retried: boolean): Promise<void> {
    const url = `http://${d.host.includes(":") ? `[${d.host}]` : d.host}:${d.port}${d.path}`;
    return new Promise<void>((resolve, reject) => {
      const req = request(
        {
          host: d.host,
          port: d.port,
          method: "POST",
          path: d.path,
          agent: this.agent,
          timeout: this.options.timeoutMs,
          headers: { "Content-Type": "application/json", "Content-Length": body.byteLength },
        },
        (res) => {
          res.resume(); // Go discards the response body too
          res.on("error", reject);
          res.on("end", () => {
            if (res.statusCode === 200) resolve();
            else
              reject(
                MicroError.internalServerError(
                  ID,
                  `deliver to ${url}: ${res.statusCode} ${res.statusMessage ?? ""}`.trim(),
                ),
              );
          });
        },
      );
      req.on("timeout", () =>
        req.destroy(
          MicroError.timeout(ID, `deliver to ${url}: no answer within ${this.options.timeoutMs}ms`),
        ),
      );
      req.on("error", (err: NodeJS.ErrnoException) => {
        if (err instanceof MicroError) return reject(err);
        // A kept-alive connection the subscriber closed meanwhile: try once on a fresh one.
        if (req.reusedSocket && !retried && err.code === "ECONNRESET") {
          this.post(d, body, true).then(resolve, reject);
          return;
        }
        reject(
          MicroError.serviceUnavailable(ID, `deliver to ${url}: ${err.code ?? err.message}`, { cause: err }),
        );
      });
      req.end(body);
    });
  }
}
