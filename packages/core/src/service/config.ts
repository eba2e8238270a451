import { parseArgs } from "node:util";
import { parseDuration } from "./duration.js";

/** A plugin choice: `name` picks the implementation, `address` where it connects or listens. */
export interface PluginChoice {
  name: string;
  address?: string | undefined;
}

/**
 * What flags and `MICRO_*` environment variables can set, named as in Go Micro's `cmd` package.
 * Every field is optional: absent means "leave the option as the code set it".
 */
export interface ServiceConfig {
  name?: string;
  version?: string;
  id?: string;
  address?: string;
  advertise?: string;
  metadata?: Record<string, string>;
  registerTtlMs?: number;
  registerIntervalMs?: number;
  clientTimeoutMs?: number;
  clientRetries?: number;
  clientPoolSize?: number;
  clientPoolTtlMs?: number;
  registry?: PluginChoice;
  broker?: PluginChoice;
  transport?: PluginChoice;
}

/** Flag (Go Micro's name) → environment variable. */
const names = {
  server_name: "MICRO_SERVER_NAME",
  server_version: "MICRO_SERVER_VERSION",
  server_id: "MICRO_SERVER_ID",
  server_address: "MICRO_SERVER_ADDRESS",
  server_advertise: "MICRO_SERVER_ADVERTISE",
  server_metadata: "MICRO_SERVER_METADATA",
  register_ttl: "MICRO_REGISTER_TTL",
  register_interval: "MICRO_REGISTER_INTERVAL",
  client_request_timeout: "MICRO_CLIENT_REQUEST_TIMEOUT",
  client_retries: "MICRO_CLIENT_RETRIES",
  client_pool_size: "MICRO_CLIENT_POOL_SIZE",
  client_pool_ttl: "MICRO_CLIENT_POOL_TTL",
  registry: "MICRO_REGISTRY",
  registry_address: "MICRO_REGISTRY_ADDRESS",
  broker: "MICRO_BROKER",
  broker_address: "MICRO_BROKER_ADDRESS",
  transport: "MICRO_TRANSPORT",
  transport_address: "MICRO_TRANSPORT_ADDRESS",
} as const;

type Raw = Partial<Record<keyof typeof names, string>>;

/** URL schemes that name a plugin (`amqp://` means RabbitMQ). */
const schemes: Record<string, string> = {
  amqp: "rabbitmq",
  amqps: "rabbitmq",
  rediss: "redis",
  mqtts: "mqtt",
  tls: "nats",
};

/**
 * Reads Go Micro's flags (`--registry etcd`, `--registry=etcd`) from `argv` and `MICRO_*`
 * variables from `env`; flags win. Unknown flags are left alone (they belong to the program).
 * A plugin value may be a URL (`MICRO_REGISTRY=etcd://10.0.0.1:2379`): the scheme names the
 * plugin and the URL is its address.
 *
 * Throws TypeError for a value that cannot be parsed (a TTL that is not a number), naming the flag.
 */
export function readConfig(argv: readonly string[], env: Record<string, string | undefined>): ServiceConfig {
  const { values } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(Object.keys(names).map((k) => [k, { type: "string" as const }])),
    strict: false,
    allowPositionals: true,
  });
  const raw: Raw = {};
  for (const [flag, envName] of Object.entries(names) as [keyof typeof names, string][]) {
    const v = values[flag] ?? env[envName];
    if (typeof v === "string" && v !== "") raw[flag] = v;
  }
  const cfg: ServiceConfig = {};
  if (raw.server_name) cfg.name = raw.server_name;
  if (raw.server_version) cfg.version = raw.server_version;
  if (raw.server_id) cfg.id = raw.server_id;
  if (raw.server_address) cfg.address = raw.server_address;
  if (raw.server_advertise) cfg.advertise = raw.server_advertise;
  if (raw.server_metadata) cfg.metadata = parseMetadata(raw.server_metadata);
  if (raw.register_ttl) cfg.registerTtlMs = duration("register_ttl", raw.register_ttl);
  if (raw.register_interval) cfg.registerIntervalMs = duration("register_interval", raw.register_interval);
  if (raw.client_request_timeout)
    cfg.clientTimeoutMs = duration("client_request_timeout", raw.client_request_timeout);
  if (raw.client_retries) cfg.clientRetries = integer("client_retries", raw.client_retries);
  if (raw.client_pool_size) cfg.clientPoolSize = integer("client_pool_size", raw.client_pool_size);
  if (raw.client_pool_ttl) cfg.clientPoolTtlMs = duration("client_pool_ttl", raw.client_pool_ttl);
  const registry = plugin(raw.registry, raw.registry_address);
  if (registry) cfg.registry = registry;
  const broker = plugin(raw.broker, raw.broker_address);
  if (broker) cfg.broker = broker;
  const transport = plugin(raw.transport, raw.transport_address);
  if (transport) cfg.transport = transport;
  return cfg;
}

function plugin(name: string | undefined, address: string | undefined): PluginChoice | undefined {
  if (!name && !address) return undefined;
  if (name?.includes("://")) {
    const scheme = name.slice(0, name.indexOf("://")).toLowerCase();
    return { name: schemes[scheme] ?? scheme, address: address ?? name };
  }
  if (!name && address?.includes("://")) {
    const scheme = address.slice(0, address.indexOf("://")).toLowerCase();
    return { name: schemes[scheme] ?? scheme, address };
  }
  return { name: name ?? "", address };
}

function parseMetadata(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(",")) {
    const i = part.indexOf("=");
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

function duration(flag: string, v: string): number {
  const ms = parseDuration(v);
  if (ms === undefined) throw new TypeError(`--${flag}: "${v}" is not a duration (e.g. 30, 30s, 1m)`);
  return ms;
}

function integer(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new TypeError(`--${flag}: "${v}" is not a non-negative integer`);
  return n;
}
