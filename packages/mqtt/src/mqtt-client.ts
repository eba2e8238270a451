import type { IoOptions } from "@microts/core";
import { MicroError } from "@microts/core";
import { deadlineSignal, raceDeadline, raceSignal } from "@microts/core/internal";
import { connect, type IClientOptions, type MqttClient } from "mqtt";

/** MQTT quality of service: 0 at most once, 1 at least once, 2 exactly once (per hop). */
export type QoS = 0 | 1 | 2;

/** The error id of every error this package raises. */
export const ID = "go.micro.broker";

/**
 * Opens an MQTT client and waits for its first CONNACK. mqtt.js keeps retrying in the background;
 * when the deadline passes first the client is closed and the call fails with 503 (an error was seen:
 * unreachable, refused) or 408 (nothing happened in time).
 */
export async function openClient(
  url: string,
  options: IClientOptions,
  io: IoOptions | undefined,
  defaultMs: number,
): Promise<MqttClient> {
  const client = connect(url, options);
  let lastError: unknown;
  // mqtt.js emits "error" for refused connections and bad CONNACKs; it reconnects on its own.
  client.on("error", (err) => {
    lastError = err;
  });
  const connected = new Promise<void>((resolve) => client.once("connect", () => resolve()));
  const d = deadlineSignal(ID, `connect ${url}`, io?.signal, io?.timeoutMs ?? defaultMs);
  try {
    await raceSignal(connected, d.signal, ID, `connect ${url}`);
    return client;
  } catch (err) {
    client.end(true);
    if (lastError !== undefined && err instanceof MicroError && err.code === 408) {
      const detail = lastError instanceof Error ? lastError.message : String(lastError);
      throw MicroError.serviceUnavailable(ID, `connect ${url}: mqtt unreachable: ${detail}`, {
        cause: lastError,
      });
    }
    throw err;
  } finally {
    d.cleanup();
  }
}

/** Runs `op` under the caller's signal and deadline; non-MicroError failures become 503. */
export function withDeadline<T>(
  what: string,
  io: IoOptions | undefined,
  defaultMs: number,
  op: () => Promise<T>,
): Promise<T> {
  return raceDeadline(ID, what, io, defaultMs, op, (err) =>
    MicroError.serviceUnavailable(ID, `${what}: mqtt: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    }),
  );
}

/** Ends a client gracefully (DISCONNECT with `properties`), forcing it after `ms`. Never throws. */
export async function closeClient(
  client: MqttClient,
  properties: { sessionExpiryInterval?: number } | undefined,
  ms = 2_000,
): Promise<void> {
  const graceful = client.endAsync(false, properties ? { properties } : {}).catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([graceful, timeout]);
  clearTimeout(timer);
  if (!client.disconnected) client.end(true);
}
