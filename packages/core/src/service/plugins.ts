import type { Broker } from "../broker/broker.js";
import { createMemoryBroker } from "../broker/memory-broker.js";
import { MicroError } from "../errors/micro-error.js";
import { createMemoryRegistry } from "../registry/memory-registry.js";
import type { Registry } from "../registry/registry.js";
import { createMemoryTransport } from "../transport/memory-transport.js";
import type { Transport } from "../transport/transport.js";

/**
 * Builds a plugin from its configured address (undefined: the plugin's default). Brokers and
 * transports also get the service's registry (the HTTP broker finds subscribers through it).
 */
export type PluginFactory<T> = (config: PluginConfig) => T | Promise<T>;

/** What a plugin factory is given. */
export interface PluginConfig {
  address?: string | undefined;
  registry?: Registry | undefined;
}

/** Name → factory, per interface: what `--registry`, `--broker` and `--transport` choose from. */
export interface PluginTable {
  registry: Record<string, PluginFactory<Registry>>;
  broker: Record<string, PluginFactory<Broker>>;
  transport: Record<string, PluginFactory<Transport>>;
}

/**
 * Loads an optional package only when the configuration names it. The package must be installed
 * next to the application; a missing one is a clear error naming what to install.
 */
function lazy<T>(pkg: string, factory: string): PluginFactory<T> {
  return async (config) => {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pkg)) as Record<string, unknown>;
    } catch (err) {
      throw MicroError.internalServerError(
        "go.micro.service",
        `plugin needs package ${pkg}: npm install ${pkg}`,
        {
          cause: err,
        },
      );
    }
    const fn = mod[factory];
    if (typeof fn !== "function") {
      throw MicroError.internalServerError("go.micro.service", `${pkg} does not export ${factory}`);
    }
    const options: PluginConfig = {};
    if (config.address) options.address = config.address;
    if (config.registry) options.registry = config.registry;
    return (fn as (c: PluginConfig) => T | Promise<T>)(options);
  };
}

/**
 * The built-in table. Memory plugins create a fresh instance per service (to share one between
 * services in a process, pass the instance in code). Backend packages are imported on first use.
 */
export function defaultPlugins(): PluginTable {
  return {
    registry: {
      memory: () => createMemoryRegistry(),
      mdns: lazy("@microts/mdns", "createMdnsRegistry"),
      etcd: lazy("@microts/etcd", "createEtcdRegistry"),
      nats: lazy("@microts/nats", "createNatsRegistry"),
    },
    broker: {
      memory: () => createMemoryBroker(),
      http: lazy("@microts/http", "createHttpBroker"),
      nats: lazy("@microts/nats", "createNatsBroker"),
      rabbitmq: lazy("@microts/rabbitmq", "createRabbitmqBroker"),
      redis: lazy("@microts/redis", "createRedisBroker"),
      mqtt: lazy("@microts/mqtt", "createMqttBroker"),
    },
    transport: {
      memory: () => createMemoryTransport(),
      http: lazy("@microts/http", "createHttpTransport"),
      tcp: lazy("@microts/tcp", "createTcpTransport"),
      nats: lazy("@microts/nats", "createNatsTransport"),
    },
  };
}

/** Resolves a configured plugin by name, with a clear error for unknown names. */
export async function loadPlugin<K extends keyof PluginTable>(
  table: PluginTable,
  kind: K,
  name: string,
  config: PluginConfig,
): Promise<Awaited<ReturnType<PluginTable[K][string]>>> {
  const factory = table[kind][name];
  if (!factory) {
    const known = Object.keys(table[kind]).sort().join(", ");
    throw MicroError.badRequest("go.micro.service", `unknown ${kind} "${name}" (known: ${known})`);
  }
  return (await factory(config)) as Awaited<ReturnType<PluginTable[K][string]>>;
}
