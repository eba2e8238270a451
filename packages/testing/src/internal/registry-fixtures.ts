import type { Endpoint, Node, RegistryEvent, ServiceRecord, Value, Watcher } from "@microts/core";

/** A node of `service` with a recognisable id, a loopback address and typical metadata. */
export function sampleNode(service: string, id: string, port = 10_001): Node {
  return {
    id: `${service}-${id}`,
    address: `127.0.0.1:${port}`,
    metadata: { protocol: "mucp", transport: "http", broker: "http", registry: "contract", node: id },
  };
}

/**
 * A service version with every field set: metadata, two endpoints with nested request/response
 * Value trees and endpoint metadata, and the given nodes.
 */
export function sampleService(name: string, version: string, nodes: Node[]): ServiceRecord {
  const request: Value = {
    name: "Request",
    type: "Request",
    values: [
      { name: "name", type: "string" },
      {
        name: "meta",
        type: "Meta",
        values: [
          { name: "id", type: "int64" },
          { name: "tags", type: "[]string" },
        ],
      },
    ],
  };
  const response: Value = { name: "Response", type: "Response", values: [{ name: "msg", type: "string" }] };
  const endpoints: Endpoint[] = [
    { name: "Greeter.Hello", request, response, metadata: { stream: "false" } },
    {
      name: "Greeter.Stream",
      request: { name: "StreamRequest", type: "StreamRequest", values: [{ name: "count", type: "int32" }] },
      response,
      metadata: { stream: "true" },
    },
  ];
  return { name, version, metadata: { owner: "contract-suite", tier: "test" }, endpoints, nodes };
}

/**
 * The comparable form of a service record: missing maps become `{}`, empty `values` disappear,
 * endpoints and nodes are sorted, so backends that store JSON (with Go's nulls) compare equal.
 */
export function normalizeService(s: ServiceRecord): ServiceRecord {
  return {
    name: s.name,
    version: s.version,
    metadata: { ...(s.metadata ?? {}) },
    endpoints: [...s.endpoints]
      .map((e) => {
        const out: Endpoint = { name: e.name, metadata: { ...(e.metadata ?? {}) } };
        if (e.request) out.request = normalizeValue(e.request);
        if (e.response) out.response = normalizeValue(e.response);
        return out;
      })
      .sort((a, b) => a.name.localeCompare(b.name)),
    nodes: [...s.nodes]
      .map((n) => ({ id: n.id, address: n.address, metadata: { ...(n.metadata ?? {}) } }))
      .sort((a, b) => a.id.localeCompare(b.id)),
  };
}

function normalizeValue(v: Value): Value {
  const out: Value = { name: v.name, type: v.type };
  if (v.values && v.values.length > 0) out.values = v.values.map(normalizeValue);
  return out;
}

/** The node ids of every version in `services`, sorted. */
export function nodeIds(services: ServiceRecord[]): string[] {
  return services.flatMap((s) => s.nodes.map((n) => n.id)).sort();
}

/** Events of a watcher gathered by a background `for await` loop. */
export class EventLog {
  readonly events: RegistryEvent[] = [];
  /** True once the iteration ended. */
  done = false;
  /** What the iteration threw, if it did. */
  error: unknown = undefined;
  /** Resolves when the iteration ended (normally or with an error). */
  readonly ended: Promise<void>;

  /** Starts iterating `watcher` with `for await`, recording every event. */
  constructor(watcher: Watcher) {
    this.ended = this.consume(watcher);
  }

  private async consume(watcher: Watcher): Promise<void> {
    try {
      for await (const e of watcher) this.events.push(e);
    } catch (err) {
      this.error = err;
    } finally {
      this.done = true;
    }
  }
}

/** The first event of `log` with `action` for `service` (and, when given, naming node `nodeId`). */
export function findEvent(
  log: EventLog,
  action: RegistryEvent["action"],
  service: string,
  nodeId?: string,
): RegistryEvent | undefined {
  return log.events.find(
    (e) =>
      e.action === action &&
      e.service.name === service &&
      (nodeId === undefined || e.service.nodes.some((n) => n.id === nodeId)),
  );
}
