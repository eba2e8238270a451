import { Agent, type IncomingMessage, request } from "node:http";
import type { IoOptions } from "@microts/core";
import { MicroError } from "@microts/core";
import { abortReason, deadlineSignal } from "@microts/core/internal";
import {
  decodeHeader,
  decodeKv,
  grpcError,
  type Json,
  type KeyValue,
  type ResponseHeader,
} from "./gateway-json.js";
import { b64, unb64 } from "./keys.js";

const ID = "go.micro.registry";

/** Options for {@link EtcdClient}. */
export interface EtcdClientOptions {
  /** Gateway base URLs (`http://host:port`), tried in order on connection failure. */
  endpoints: string[];
  /** Per-operation budget in milliseconds; when it passes the call fails with 503. */
  timeoutMs: number;
  /** User for etcd authentication (`/v3/auth/authenticate`). Default: none. */
  username?: string | undefined;
  /** Password for `username`. */
  password?: string | undefined;
}

/**
 * A minimal etcd v3 client speaking the JSON gRPC gateway (`/v3/...`) over node:http keep-alive
 * connections: no gRPC, no third-party dependency. Keys and values are base64 in the JSON; int64
 * fields are decimal strings. Endpoints are tried in order when a connection fails; the one that
 * answered is used first next time.
 *
 * Errors: unreachable endpoints or no answer within `timeoutMs` → MicroError 503; the caller's
 * deadline → 408; the caller's abort → 499; etcd's own errors mapped from their gRPC code (see
 * {@link grpcError}).
 */
export class EtcdClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 32 });
  private readonly streams = new Set<IncomingMessage>();
  private current = 0;
  private token: Promise<string> | undefined;
  private closed = false;

  constructor(private readonly options: EtcdClientOptions) {}

  /** Keys in `[key, rangeEnd)` (or exactly `key`). `serializable` reads any member's local state. */
  async range(
    key: string | Uint8Array,
    rangeEnd: Uint8Array | undefined,
    opts: { serializable?: boolean; revision?: number },
    io?: IoOptions,
  ): Promise<{ header: ResponseHeader; kvs: KeyValue[] }> {
    const body: Json = { key: b64(key) };
    if (rangeEnd) body.range_end = b64(rangeEnd);
    if (opts.serializable) body.serializable = true;
    if (opts.revision) body.revision = String(opts.revision);
    const r = await this.call("/v3/kv/range", body, "range", io);
    const kvs = Array.isArray(r.kvs) ? (r.kvs as Json[]).map(decodeKv) : [];
    return { header: decodeHeader(r.header), kvs };
  }

  /** Writes `key` = `value`, attached to `lease` when given. Returns the new revision. */
  async put(key: string, value: string, lease: string | undefined, io?: IoOptions): Promise<number> {
    const body: Json = { key: b64(key), value: b64(value) };
    if (lease) body.lease = lease;
    const r = await this.call("/v3/kv/put", body, "put", io);
    return decodeHeader(r.header).revision;
  }

  /** Deletes `key` (or `[key, rangeEnd)`). Returns how many keys were deleted. */
  async deleteRange(key: string, rangeEnd: Uint8Array | undefined, io?: IoOptions): Promise<number> {
    const body: Json = { key: b64(key) };
    if (rangeEnd) body.range_end = b64(rangeEnd);
    const r = await this.call("/v3/kv/deleterange", body, "delete", io);
    return Number(r.deleted ?? 0);
  }

  /** Grants a lease of `ttlSec` seconds; returns its id (decimal string). */
  async grant(ttlSec: number, io?: IoOptions): Promise<string> {
    const r = await this.call("/v3/lease/grant", { TTL: String(ttlSec) }, "lease grant", io);
    if (typeof r.ID !== "string" || r.ID === "" || r.ID === "0") {
      throw MicroError.serviceUnavailable(ID, `etcd lease grant: ${String(r.error ?? "no lease id")}`);
    }
    return r.ID;
  }

  /**
   * Refreshes a lease once; returns its remaining TTL in seconds, 0 when the lease no longer
   * exists (expired, revoked, or etcd lost its data).
   */
  async keepAlive(id: string, io?: IoOptions): Promise<number> {
    // A bidirectional stream in gRPC; through the gateway one request body gives one answer.
    const r = await this.call("/v3/lease/keepalive", { ID: id }, "lease keepalive", io);
    const result = (r.result ?? {}) as Json;
    return Number(result.TTL ?? 0);
  }

  /** Remaining TTL of a lease (-1 when it does not exist) and the keys attached to it. */
  async timeToLive(id: string, io?: IoOptions): Promise<{ ttl: number; keys: string[] }> {
    const r = await this.call("/v3/lease/timetolive", { ID: id, keys: true }, "lease timetolive", io);
    const keys = Array.isArray(r.keys) ? (r.keys as string[]).map(unb64) : [];
    return { ttl: Number(r.TTL ?? -1), keys };
  }

  /** Revokes a lease (deleting its keys). A lease that no longer exists is not an error. */
  async revoke(id: string, io?: IoOptions): Promise<void> {
    try {
      await this.call("/v3/lease/revoke", { ID: id }, "lease revoke", io);
    } catch (e) {
      if (!(e instanceof MicroError && e.code === 404)) throw e;
    }
  }

  /**
   * Opens a watch stream (`POST /v3/watch` with `body`) and calls `onMessage` for every JSON
   * message. Resolves once etcd answered with HTTP 200 (the stream then runs until `signal`
   * aborts or the connection ends, when `onEnd` is called once); rejects like {@link call}.
   */
  async openWatch(
    body: Json,
    onMessage: (msg: Json) => void,
    onEnd: (err?: unknown) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const res = await this.withEndpoints("watch", body, signal, "/v3/watch", true);
    this.streams.add(res);
    let buf = "";
    let ended = false;
    const end = (err?: unknown) => {
      if (ended) return;
      ended = true;
      this.streams.delete(res);
      signal.removeEventListener("abort", onAbort);
      res.destroy();
      onEnd(err);
    };
    const onAbort = () => end(abortReason(ID, "watch", signal));
    signal.addEventListener("abort", onAbort, { once: true });
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      buf += chunk;
      let nl = buf.indexOf("\n");
      while (nl >= 0 && !ended) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        nl = buf.indexOf("\n");
        if (!line) continue;
        let msg: unknown;
        try {
          msg = JSON.parse(line);
        } catch (cause) {
          end(MicroError.internalServerError(ID, "etcd watch: malformed message", { cause }));
          return;
        }
        if (msg !== null && typeof msg === "object") onMessage(msg as Json);
      }
    });
    res.on("end", () => end());
    res.on("close", () => end());
    res.on("error", (e) => end(e));
    if (signal.aborted) onAbort();
  }

  /** Closes pooled connections and open watch streams; later calls reject with 503. */
  close(): void {
    this.closed = true;
    for (const s of this.streams) s.destroy();
    this.streams.clear();
    this.agent.destroy();
  }

  /**
   * One gateway call within min(caller deadline, `timeoutMs`), trying the endpoints in order.
   * Re-authenticates once when etcd says the token is invalid.
   */
  async call(path: string, body: Json, what: string, io?: IoOptions): Promise<Json> {
    if (this.closed) throw MicroError.serviceUnavailable(ID, `etcd ${what}: registry closed`);
    const caller = deadlineSignal(ID, `etcd ${what}`, io?.signal, io?.timeoutMs);
    const own = new AbortController();
    const timer = setTimeout(
      () =>
        own.abort(
          MicroError.serviceUnavailable(
            ID,
            `etcd ${what}: no answer from ${this.options.endpoints.join(",")} within ${this.options.timeoutMs}ms`,
          ),
        ),
      this.options.timeoutMs,
    );
    const signal = AbortSignal.any([caller.signal, own.signal]);
    try {
      try {
        return await this.readJson(await this.withEndpoints(what, body, signal, path, false), what, signal);
      } catch (e) {
        if (!(e instanceof AuthExpired)) throw e;
        this.token = undefined;
        return await this.readJson(await this.withEndpoints(what, body, signal, path, false), what, signal);
      }
    } catch (e) {
      if (e instanceof AuthExpired) throw MicroError.unauthorized(ID, `etcd ${what}: ${e.message}`);
      throw e;
    } finally {
      clearTimeout(timer);
      caller.cleanup();
    }
  }

  /** Sends the request to the first endpoint that accepts a connection; resolves with its response. */
  private async withEndpoints(
    what: string,
    body: Json,
    signal: AbortSignal,
    path: string,
    stream: boolean,
  ): Promise<IncomingMessage> {
    const n = this.options.endpoints.length;
    let last: unknown;
    // One extra attempt: a pooled keep-alive socket may have died with a restarted server.
    for (let attempt = 0; attempt <= n; attempt++) {
      if (signal.aborted) throw abortReason(ID, `etcd ${what}`, signal);
      const index = (this.current + attempt) % n;
      const endpoint = this.options.endpoints[index] as string;
      try {
        const token = path === "/v3/auth/authenticate" ? undefined : await this.authToken(signal);
        const res = await this.send(endpoint, path, body, token, signal, stream);
        this.current = index;
        if (stream && res.statusCode !== 200) {
          throw await this.readJson(res, what, signal).then(
            () => MicroError.serviceUnavailable(ID, `etcd ${what}: HTTP ${res.statusCode}`),
            (e: unknown) => e,
          );
        }
        return res;
      } catch (e) {
        if (!(e instanceof ConnectError)) throw e;
        last = e.cause;
      }
    }
    const why = last instanceof Error ? last.message : String(last);
    throw MicroError.serviceUnavailable(
      ID,
      `etcd ${what}: ${this.options.endpoints.join(",")} unreachable: ${why}`,
      {
        cause: last,
      },
    );
  }

  private send(
    endpoint: string,
    path: string,
    body: Json,
    token: string | undefined,
    signal: AbortSignal,
    stream: boolean,
  ): Promise<IncomingMessage> {
    const payload = JSON.stringify(body);
    return new Promise<IncomingMessage>((resolve, reject) => {
      const headers: Record<string, string | number> = {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(payload),
      };
      if (token) headers.authorization = token;
      // Watch streams get their own connection so they never hold a pooled socket.
      const req = request(`${endpoint}${path}`, {
        method: "POST",
        headers,
        agent: stream ? false : this.agent,
      });
      let settled = false;
      const onAbort = () => {
        req.destroy();
        if (!settled) {
          settled = true;
          reject(abortReason(ID, path, signal));
        }
      };
      signal.addEventListener("abort", onAbort, { once: true });
      req.on("socket", (s) => s.setKeepAlive(true, 10_000));
      req.on("response", (res) => {
        // From here the reader of the body (readJson or openWatch) handles aborts.
        signal.removeEventListener("abort", onAbort);
        settled = true;
        resolve(res);
      });
      req.on("error", (cause) => {
        signal.removeEventListener("abort", onAbort);
        if (settled) return;
        settled = true;
        reject(signal.aborted ? abortReason(ID, path, signal) : new ConnectError(cause));
      });
      req.end(payload);
    });
  }

  /** Reads a whole JSON response; maps a non-200 answer to a MicroError (or AuthExpired). */
  private readJson(res: IncomingMessage, what: string, signal: AbortSignal): Promise<Json> {
    return new Promise<Json>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const onAbort = () => {
        res.destroy();
        reject(abortReason(ID, `etcd ${what}`, signal));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", (cause) => {
        signal.removeEventListener("abort", onAbort);
        reject(MicroError.serviceUnavailable(ID, `etcd ${what}: connection lost`, { cause }));
      });
      res.on("end", () => {
        signal.removeEventListener("abort", onAbort);
        const text = Buffer.concat(chunks).toString("utf8");
        let json: Json;
        try {
          const v: unknown = JSON.parse(text);
          json = v !== null && typeof v === "object" ? (v as Json) : {};
        } catch {
          return reject(
            MicroError.serviceUnavailable(ID, `etcd ${what}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`),
          );
        }
        if (res.statusCode === 200 && json.error === undefined) return resolve(json);
        // Streaming endpoints (keepalive) wrap errors as {"error": {...}}.
        const err = (typeof json.error === "object" && json.error !== null ? json.error : json) as Json;
        const message = String(err.message ?? err.error ?? `HTTP ${res.statusCode}`);
        if (
          this.hasCredentials() &&
          /invalid auth token|user name is empty|auth.*(expired|invalid)/i.test(message)
        ) {
          return reject(new AuthExpired(message));
        }
        reject(grpcError(Number(err.code ?? 2), `etcd ${what}: ${message}`));
      });
    });
  }

  private hasCredentials(): boolean {
    return this.options.username !== undefined && this.options.username !== "";
  }

  private authToken(signal: AbortSignal): Promise<string | undefined> {
    if (!this.hasCredentials()) return Promise.resolve(undefined);
    if (!this.token) {
      const p = this.withEndpoints(
        "authenticate",
        { name: this.options.username, password: this.options.password ?? "" },
        signal,
        "/v3/auth/authenticate",
        false,
      )
        .then((res) => this.readJson(res, "authenticate", signal))
        .then((r) => {
          if (typeof r.token !== "string" || !r.token) {
            throw MicroError.unauthorized(ID, "etcd authenticate: no token (is auth enabled?)");
          }
          return r.token;
        });
      this.token = p;
      p.catch(() => {
        if (this.token === p) this.token = undefined;
      });
    }
    return this.token;
  }
}

/** A failure to reach an endpoint at all: the next endpoint is tried. */
class ConnectError extends Error {
  constructor(override readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/** etcd rejected our auth token: authenticate again and retry once. */
class AuthExpired extends Error {}
