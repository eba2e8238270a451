import type { IoOptions } from "../context/call-options.js";

/**
 * A description of a request or response shape, as Go Micro writes it into the registry:
 * `{name, type, values}` trees (field name, type name, nested fields).
 */
export interface Value {
  name: string;
  type: string;
  values?: Value[] | undefined;
}

/** One endpoint of a service: `Type.Method` with its shapes and metadata (`stream: "true"`, ...). */
export interface Endpoint {
  name: string;
  request?: Value | undefined;
  response?: Value | undefined;
  metadata: Record<string, string>;
}

/** One running instance: its id, dialable address and metadata (`protocol`, `transport`, ...). */
export interface Node {
  id: string;
  address: string;
  metadata: Record<string, string>;
}

/**
 * A service version and its nodes, Go Micro's `registry.Service`. `getService` returns one entry
 * per version, each with all nodes of that version.
 */
export interface Service {
  name: string;
  version: string;
  metadata?: Record<string, string> | undefined;
  endpoints: Endpoint[];
  nodes: Node[];
}

/** What happened to a service, as a watch reports it. */
export type RegistryAction = "create" | "update" | "delete";

/** One watch event. `service` holds the nodes the event is about. */
export interface RegistryEvent {
  action: RegistryAction;
  service: Service;
  /** Epoch milliseconds when the registry observed the change. */
  timestamp: number;
}

/** Options for {@link Registry.register}. */
export interface RegisterOptions extends IoOptions {
  /**
   * Time to live in milliseconds: how long a node survives once nothing refreshes it, where the
   * backend supports expiry. Some backends refresh it in the background while the registry is
   * open (etcd's lease keep-alive); others need `register` again within the TTL (memory). The
   * server re-registers on an interval either way. Default: none (kept until deregistered).
   */
  ttlMs?: number | undefined;
}

/** Options for {@link Registry.watch}. */
export interface WatchOptions {
  /** Only events for this service name. Default: all services. */
  service?: string | undefined;
  /** Stops the watch when aborted. */
  signal?: AbortSignal | undefined;
}

/**
 * A stream of registry events. Iterate it; `stop()` (or disposal, or the watch's signal) ends the
 * iteration. Iterating a stopped watcher ends at once.
 */
export interface Watcher extends AsyncIterable<RegistryEvent>, AsyncDisposable {
  /** Next event; rejects with MicroError 503 once the watcher stopped. */
  next(): Promise<RegistryEvent>;
  stop(): void;
}

/**
 * Service discovery: Go Micro's `registry.Registry`. Implementations store what `register` was
 * given, per service name, version and node id; `register` of the same node again refreshes it.
 *
 * Errors: a missing service is `MicroError` 404 (`service not found`); an unreachable backend is
 * 503; a passed deadline is 408.
 */
export interface Registry {
  /** `memory`, `mdns`, `etcd`, `nats`...: written as the `registry` node metadata. */
  readonly name: string;
  /** Adds or refreshes the nodes of `service`. */
  register(service: Service, options?: RegisterOptions): Promise<void>;
  /** Removes the nodes of `service` (the service disappears once it has none). */
  deregister(service: Service, options?: IoOptions): Promise<void>;
  /** Every version of the named service. Rejects with MicroError 404 when there is none. */
  getService(name: string, options?: IoOptions): Promise<Service[]>;
  /** Every service (nodes and endpoints may be omitted by some backends). */
  listServices(options?: IoOptions): Promise<Service[]>;
  /** Watches for changes from now on. */
  watch(options?: WatchOptions): Watcher;
  /** Releases connections and timers; registrations made through it may expire. Idempotent. */
  close(): Promise<void>;
}
