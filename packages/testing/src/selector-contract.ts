import assert from "node:assert/strict";
import type { Next, Node, Registry, Selector } from "@microts/core";
import {
  createMemoryRegistry,
  filterEndpoint,
  filterLabel,
  filterVersion,
  random,
  roundRobin,
} from "@microts/core";
import { sampleService } from "./internal/registry-fixtures.js";
import type { SkipRule, TestScope } from "./internal/suite.js";
import { defineSuite } from "./internal/suite.js";
import { rejectsWith, uniqueName } from "./internal/wait.js";

/** Options for {@link selectorContract}. */
export interface SelectorContractOptions {
  /** Returns a selector reading from `registry` (a memory registry filled by each test). */
  create: (registry: Registry) => Selector | Promise<Selector>;
  /** Tests this selector cannot pass, with the reason. Default none. */
  skip?: SkipRule[];
}

/** The registry a test selects from: `service` v1.0.0 with nodes a (zone a), b and c (zone b). */
interface Fixture {
  registry: Registry;
  selector: Selector;
  service: string;
  nodes: { a: Node; b: Node; c: Node };
  /** Adds v2.0.0 with node d (zone c) and an extra endpoint `Greeter.Bye`. */
  addVersion2(): Promise<Node>;
}

function node(service: string, id: string, zone: string, port: number): Node {
  return { id: `${service}-${id}`, address: `127.0.0.1:${port}`, metadata: { protocol: "mucp", zone } };
}

/** Calls `next` `count` times and counts picks per node id. */
function pick(next: Next, count: number, exclude?: ReadonlySet<string>): Map<string, number> {
  const seen = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const n = next(exclude);
    seen.set(n.id, (seen.get(n.id) ?? 0) + 1);
  }
  return seen;
}

function ids(seen: Map<string, number>): string[] {
  return [...seen.keys()].sort();
}

/**
 * The behaviour every {@link Selector} must show, as a node:test `describe` block named
 * `selector contract: <name>`: picks only registered nodes; honours `exclude` while alternatives
 * exist and falls back when everything is excluded; the `random` strategy reaches every node and
 * `roundRobin` cycles through them; `filterVersion`/`filterLabel`/`filterEndpoint` narrow the
 * candidates; an unknown service rejects MicroError 500 `service X: not found` (Go Micro's
 * wording) and filters leaving nothing reject 503; three failed `mark`s eject a node while others
 * exist, and a successful `mark` or `reset` brings it back.
 */
export function selectorContract(name: string, options: SelectorContractOptions): void {
  const setup = async (scope: TestScope): Promise<Fixture> => {
    const registry = createMemoryRegistry();
    scope.defer(() => registry.close());
    const service = uniqueName("selector");
    const nodes = {
      a: node(service, "a", "a", 20_001),
      b: node(service, "b", "b", 20_002),
      c: node(service, "c", "b", 20_003),
    };
    await registry.register(sampleService(service, "1.0.0", [nodes.a, nodes.b, nodes.c]));
    const selector = await options.create(registry);
    scope.defer(() => selector.close());
    const addVersion2 = async () => {
      const d = node(service, "d", "c", 20_004);
      const v2 = sampleService(service, "2.0.0", [d]);
      v2.endpoints.push({ name: "Greeter.Bye", metadata: {} });
      await registry.register(v2);
      return d;
    };
    return { registry, selector, service, nodes, addVersion2 };
  };

  defineSuite(
    `selector contract: ${name}`,
    [
      {
        name: "select returns a Next that yields registered nodes",
        run: async (scope) => {
          const { selector, service, nodes } = await setup(scope);
          const next = await selector.select(service);
          const registered = new Map([nodes.a, nodes.b, nodes.c].map((n) => [n.id, n]));
          for (let i = 0; i < 30; i++) {
            const n = next();
            assert.deepEqual(n, registered.get(n.id), `pick ${i} is a registered node with its address`);
          }
        },
      },
      {
        name: "exclude is honoured while alternatives exist, then falls back",
        run: async (scope) => {
          const { selector, service, nodes } = await setup(scope);
          const next = await selector.select(service);
          assert.deepEqual(ids(pick(next, 50, new Set([nodes.a.id, nodes.b.id]))), [nodes.c.id]);
          const all = new Set([nodes.a.id, nodes.b.id, nodes.c.id]);
          const fallback = next(all);
          assert.ok(all.has(fallback.id), "with every node excluded, one of them is still returned");
        },
      },
      {
        name: "random reaches every node within 300 picks",
        run: async (scope) => {
          const { selector, service, nodes } = await setup(scope);
          const next = await selector.select(service, { strategy: random });
          assert.deepEqual(ids(pick(next, 300)), [nodes.a.id, nodes.b.id, nodes.c.id].sort());
        },
      },
      {
        name: "roundRobin cycles through every node",
        run: async (scope) => {
          const { selector, service } = await setup(scope);
          const next = await selector.select(service, { strategy: roundRobin });
          const order = Array.from({ length: 9 }, () => next().id);
          assert.equal(new Set(order.slice(0, 3)).size, 3, `first three picks differ: ${order.join(", ")}`);
          assert.deepEqual(order.slice(3, 6), order.slice(0, 3), "the cycle repeats");
          assert.deepEqual(order.slice(6, 9), order.slice(0, 3), "the cycle repeats");
        },
      },
      {
        name: "filterVersion keeps only that version",
        run: async (scope) => {
          const f = await setup(scope);
          const d = await f.addVersion2();
          const v2 = await f.selector.select(f.service, { filters: [filterVersion("2.0.0")] });
          assert.deepEqual(ids(pick(v2, 50)), [d.id]);
          const v1 = await f.selector.select(f.service, { filters: [filterVersion("1.0.0")] });
          assert.deepEqual(ids(pick(v1, 300)), [f.nodes.a.id, f.nodes.b.id, f.nodes.c.id].sort());
        },
      },
      {
        name: "filterLabel keeps nodes with that metadata",
        run: async (scope) => {
          const f = await setup(scope);
          await f.addVersion2();
          const next = await f.selector.select(f.service, { filters: [filterLabel("zone", "b")] });
          assert.deepEqual(ids(pick(next, 300)), [f.nodes.b.id, f.nodes.c.id].sort());
        },
      },
      {
        name: "filterEndpoint keeps services advertising the endpoint",
        run: async (scope) => {
          const f = await setup(scope);
          const d = await f.addVersion2();
          const bye = await f.selector.select(f.service, { filters: [filterEndpoint("Greeter.Bye")] });
          assert.deepEqual(ids(pick(bye, 50)), [d.id]);
          const hello = await f.selector.select(f.service, { filters: [filterEndpoint("Greeter.Hello")] });
          assert.equal(ids(pick(hello, 400)).length, 4, "every version advertises Greeter.Hello");
        },
      },
      {
        name: "unknown service rejects with 500 'service X: not found'",
        run: async (scope) => {
          const { selector } = await setup(scope);
          const missing = uniqueName("selector-missing");
          const err = await rejectsWith(selector.select(missing), 500, 5_000, "select of an unknown service");
          assert.equal(err.detail, `service ${missing}: not found`);
        },
      },
      {
        name: "filters that leave no node reject with 503",
        run: async (scope) => {
          const { selector, service } = await setup(scope);
          await rejectsWith(
            selector.select(service, { filters: [filterVersion("9.9.9")] }),
            503,
            5_000,
            "select with a filter matching nothing",
          );
        },
      },
      {
        name: "three failed marks eject a node while others exist",
        run: async (scope) => {
          const { selector, service, nodes } = await setup(scope);
          for (let i = 0; i < 3; i++) selector.mark(service, nodes.a, new Error("connection refused"));
          const next = await selector.select(service, { strategy: random });
          assert.deepEqual(ids(pick(next, 300)), [nodes.b.id, nodes.c.id].sort());
        },
      },
      {
        name: "an ejected node is still picked when it is the only one",
        run: async (scope) => {
          const { registry, selector } = await setup(scope);
          const lonely = uniqueName("selector-single");
          const only = node(lonely, "only", "a", 20_010);
          await registry.register(sampleService(lonely, "1.0.0", [only]));
          for (let i = 0; i < 3; i++) selector.mark(lonely, only, new Error("timeout"));
          const next = await selector.select(lonely);
          assert.equal(next().id, only.id);
        },
      },
      {
        name: "a successful mark restores an ejected node",
        run: async (scope) => {
          const { selector, service, nodes } = await setup(scope);
          for (let i = 0; i < 3; i++) selector.mark(service, nodes.a, new Error("boom"));
          selector.mark(service, nodes.a);
          const next = await selector.select(service, { strategy: random });
          assert.deepEqual(ids(pick(next, 300)), [nodes.a.id, nodes.b.id, nodes.c.id].sort());
        },
      },
      {
        name: "reset restores ejected nodes",
        run: async (scope) => {
          const { selector, service, nodes } = await setup(scope);
          for (let i = 0; i < 3; i++) selector.mark(service, nodes.a, new Error("boom"));
          for (let i = 0; i < 3; i++) selector.mark(service, nodes.b, new Error("boom"));
          selector.reset(service);
          const next = await selector.select(service, { strategy: random });
          assert.deepEqual(ids(pick(next, 300)), [nodes.a.id, nodes.b.id, nodes.c.id].sort());
        },
      },
      {
        name: "close() is idempotent",
        run: async () => {
          const registry = createMemoryRegistry();
          const selector = await options.create(registry);
          await selector.close();
          await selector.close();
          await registry.close();
        },
      },
    ],
    options.skip,
  );
}
