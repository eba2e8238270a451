import assert from "node:assert/strict";
import type { Registry, ServiceRecord } from "@microts/core";
import {
  EventLog,
  findEvent,
  nodeIds,
  normalizeService,
  sampleNode,
  sampleService,
} from "./internal/registry-fixtures.js";
import type { SkipRule, TestScope } from "./internal/suite.js";
import { defineSuite } from "./internal/suite.js";
import { delay, rejectsWith, uniqueName, waitFor, within } from "./internal/wait.js";

/** Options for {@link registryContract}. */
export interface RegistryContractOptions {
  /**
   * Returns a new client of the SAME backend on each call (for in-process registries: the same
   * shared instance). The suite closes every client it created when the test ends.
   */
  create: () => Registry | Promise<Registry>;
  /** Runs once after the whole suite (stop servers, remove data). Default: nothing. */
  cleanup?: () => unknown;
  /**
   * Milliseconds a change made through one client may take to become visible to another client
   * and to watches; also waited after starting a watch before changing anything. Default 0.
   */
  propagationMs?: number;
  /** Whether `register({ ttlMs })` makes nodes expire. Default true. */
  supportsTtl?: boolean;
  /** Tests this backend cannot pass, with the reason. Default none. */
  skip?: SkipRule[];
}

/** Extra time, in milliseconds, granted on top of `propagationMs` before a check fails. */
const MARGIN_MS = 3_000;
/** The TTL the expiry test registers with, in milliseconds. */
const TTL_MS = 1_500;

/**
 * The behaviour every {@link Registry} must show, as a node:test `describe` block named
 * `registry contract: <name>`: register/getService round trips of every field, merging of nodes
 * per version, deregistration (404 once the last node is gone), idempotent re-registration,
 * TTL expiry with a `delete` event, watches (create/delete events, service filter, `stop()`,
 * abort signal, `for await`), visibility across clients, idempotent `close()`.
 *
 * Every test uses its own random service names, so suites may run against a shared server.
 */
export function registryContract(name: string, options: RegistryContractOptions): void {
  const propagation = options.propagationMs ?? 0;
  const visible = propagation + MARGIN_MS;
  const open = async (scope: TestScope): Promise<Registry> => {
    const r = await options.create();
    scope.defer(() => r.close());
    return r;
  };
  const getOrEmpty = async (r: Registry, service: string): Promise<ServiceRecord[]> => {
    try {
      return await r.getService(service);
    } catch {
      return [];
    }
  };
  // Waits until getService shows exactly these node ids (sorted), then returns the services.
  const waitNodes = (r: Registry, service: string, ids: string[], what: string, timeoutMs = visible) =>
    waitFor(
      what,
      async () => {
        const got = await getOrEmpty(r, service);
        return JSON.stringify(nodeIds(got)) === JSON.stringify([...ids].sort()) ? got : undefined;
      },
      timeoutMs,
    );
  const startWatch = async (r: Registry, scope: TestScope, service?: string, signal?: AbortSignal) => {
    const watcher = r.watch({ service, signal });
    scope.defer(() => watcher.stop());
    const log = new EventLog(watcher);
    await delay(propagation);
    return { watcher, log };
  };

  defineSuite(
    `registry contract: ${name}`,
    [
      {
        name: "register then getService returns every field",
        run: async (scope) => {
          const r = await open(scope);
          const svc = uniqueName("reg-roundtrip");
          const record = sampleService(svc, "1.0.0", [sampleNode(svc, "a")]);
          await r.register(record);
          const got = await waitNodes(r, svc, [`${svc}-a`], "registered node visible");
          assert.equal(got.length, 1, "one version registered, one entry expected");
          assert.deepEqual(normalizeService(got[0] as ServiceRecord), normalizeService(record));
        },
      },
      {
        name: "two nodes of one version are merged into one entry",
        run: async (scope) => {
          const r = await open(scope);
          const svc = uniqueName("reg-merge");
          await r.register(sampleService(svc, "1.0.0", [sampleNode(svc, "a", 10_001)]));
          await r.register(sampleService(svc, "1.0.0", [sampleNode(svc, "b", 10_002)]));
          const got = await waitNodes(r, svc, [`${svc}-a`, `${svc}-b`], "both nodes visible");
          assert.equal(got.length, 1, "nodes of one version must share one entry");
          const addresses = (got[0] as ServiceRecord).nodes.map((n) => n.address).sort();
          assert.deepEqual(addresses, ["127.0.0.1:10001", "127.0.0.1:10002"]);
        },
      },
      {
        name: "two versions are returned as two entries",
        run: async (scope) => {
          const r = await open(scope);
          const svc = uniqueName("reg-versions");
          await r.register(sampleService(svc, "1.0.0", [sampleNode(svc, "v1")]));
          await r.register(sampleService(svc, "2.0.0", [sampleNode(svc, "v2")]));
          const got = await waitNodes(r, svc, [`${svc}-v1`, `${svc}-v2`], "both versions visible");
          const byVersion = got.map((s) => [s.version, s.nodes.map((n) => n.id)]).sort();
          assert.deepEqual(byVersion, [
            ["1.0.0", [`${svc}-v1`]],
            ["2.0.0", [`${svc}-v2`]],
          ]);
        },
      },
      {
        name: "deregistering one node keeps the others",
        run: async (scope) => {
          const r = await open(scope);
          const svc = uniqueName("reg-dereg-one");
          const a = sampleNode(svc, "a", 10_001);
          const b = sampleNode(svc, "b", 10_002);
          await r.register(sampleService(svc, "1.0.0", [a, b]));
          await waitNodes(r, svc, [a.id, b.id], "both nodes visible");
          await r.deregister(sampleService(svc, "1.0.0", [a]));
          const got = await waitNodes(r, svc, [b.id], "only the remaining node visible");
          assert.deepEqual((got[0] as ServiceRecord).nodes[0], b);
        },
      },
      {
        name: "deregistering the last node removes the service (404)",
        run: async (scope) => {
          const r = await open(scope);
          const svc = uniqueName("reg-dereg-last");
          const record = sampleService(svc, "1.0.0", [sampleNode(svc, "a")]);
          await r.register(record);
          await waitNodes(r, svc, [`${svc}-a`], "node visible");
          await r.deregister(record);
          await waitFor(
            "service gone after deregistering its last node",
            async () => (await getOrEmpty(r, svc)).length === 0,
            visible,
          );
          await rejectsWith(r.getService(svc), 404, 5_000, "getService after the last deregister");
        },
      },
      {
        name: "listServices includes registered services",
        run: async (scope) => {
          const r = await open(scope);
          const one = uniqueName("reg-list-a");
          const two = uniqueName("reg-list-b");
          await r.register(sampleService(one, "1.0.0", [sampleNode(one, "a")]));
          await r.register(sampleService(two, "3.1.4", [sampleNode(two, "a")]));
          await waitFor(
            "both services listed",
            async () => {
              const names = new Set((await r.listServices()).map((s) => s.name));
              return names.has(one) && names.has(two);
            },
            visible,
          );
        },
      },
      {
        name: "registering the same node again does not duplicate it",
        run: async (scope) => {
          const r = await open(scope);
          const svc = uniqueName("reg-idempotent");
          const record = sampleService(svc, "1.0.0", [sampleNode(svc, "a")]);
          await r.register(record);
          await r.register(record);
          await r.register(record);
          await waitNodes(r, svc, [`${svc}-a`], "node visible");
          await delay(propagation);
          const got = await r.getService(svc);
          assert.equal(got.length, 1);
          assert.deepEqual(nodeIds(got), [`${svc}-a`], "re-registration must not add nodes");
        },
      },
      {
        name: "a node registered with ttlMs expires and a delete event is sent",
        unsupported: options.supportsTtl === false ? "supportsTtl: false" : undefined,
        timeoutMs: 30_000,
        run: async (scope) => {
          const r = await open(scope);
          const svc = uniqueName("reg-ttl");
          const { log } = await startWatch(r, scope, svc);
          const keep = sampleNode(svc, "keep", 10_001);
          const expiring = sampleNode(svc, "ttl", 10_002);
          await r.register(sampleService(svc, "1.0.0", [keep]));
          await r.register(sampleService(svc, "1.0.0", [expiring]), { ttlMs: TTL_MS });
          await waitNodes(r, svc, [keep.id, expiring.id], "both nodes visible before expiry");
          const bound = TTL_MS + propagation + 5_000;
          await waitNodes(r, svc, [keep.id], "TTL node expired, persistent node kept", bound);
          await waitFor(
            "delete event for the expired node",
            () => findEvent(log, "delete", svc, expiring.id),
            bound,
          );
        },
      },
      {
        name: "watch reports create on register",
        run: async (scope) => {
          const r = await open(scope);
          const svc = uniqueName("watch-create");
          const { log } = await startWatch(r, scope);
          const node = sampleNode(svc, "a");
          await r.register(sampleService(svc, "1.0.0", [node]));
          const e = await waitFor("create event", () => findEvent(log, "create", svc, node.id), visible);
          assert.equal(e.service.version, "1.0.0");
          assert.equal(typeof e.timestamp, "number");
          assert.ok(Math.abs(Date.now() - e.timestamp) < 60_000, "timestamp is epoch milliseconds");
        },
      },
      {
        name: "watch reports delete on deregister",
        run: async (scope) => {
          const r = await open(scope);
          const svc = uniqueName("watch-delete");
          const { log } = await startWatch(r, scope);
          const record = sampleService(svc, "1.0.0", [sampleNode(svc, "a")]);
          await r.register(record);
          await waitFor("create event", () => findEvent(log, "create", svc), visible);
          await r.deregister(record);
          await waitFor(
            "delete event naming the node",
            () => findEvent(log, "delete", svc, `${svc}-a`),
            visible,
          );
        },
      },
      {
        name: "watch with a service filter delivers only that service",
        run: async (scope) => {
          const r = await open(scope);
          const wanted = uniqueName("watch-wanted");
          const other = uniqueName("watch-other");
          const { log } = await startWatch(r, scope, wanted);
          await r.register(sampleService(other, "1.0.0", [sampleNode(other, "a")]));
          await r.register(sampleService(wanted, "1.0.0", [sampleNode(wanted, "a")]));
          await waitFor("event for the watched service", () => findEvent(log, "create", wanted), visible);
          // Give a stray event for the other service the same time to show up.
          await delay(propagation + 200);
          const names = [...new Set(log.events.map((e) => e.service.name))];
          assert.deepEqual(names, [wanted], "events for other services must be filtered out");
        },
      },
      {
        name: "stop() ends a watcher's iteration",
        run: async (scope) => {
          const r = await open(scope);
          const { watcher, log } = await startWatch(r, scope);
          watcher.stop();
          await within(log.ended, 3_000, "iteration after stop()");
          assert.equal(log.error, undefined, "iteration must end normally, not throw");
          await rejectsWith(watcher.next(), 503, 3_000, "next() on a stopped watcher");
          watcher.stop(); // idempotent
        },
      },
      {
        name: "aborting the watch signal ends the iteration",
        run: async (scope) => {
          const r = await open(scope);
          const controller = new AbortController();
          const { log } = await startWatch(r, scope, undefined, controller.signal);
          controller.abort();
          await within(log.ended, 3_000, "iteration after abort");
          assert.equal(log.error, undefined, "iteration must end normally, not throw");
          const pre = r.watch({ signal: AbortSignal.abort() });
          const preLog = new EventLog(pre);
          await within(preLog.ended, 3_000, "iteration of a watch started with an aborted signal");
        },
      },
      {
        name: "for await over a watcher yields events and disposal ends it",
        run: async (scope) => {
          const r = await open(scope);
          const svc = uniqueName("watch-forawait");
          const watcher = r.watch({ service: svc });
          scope.defer(() => watcher.stop());
          await delay(propagation);
          const seen: string[] = [];
          const loop = (async () => {
            for await (const e of watcher) {
              seen.push(`${e.action}:${e.service.name}`);
              if (seen.length === 1) break; // break must end the watch cleanly
            }
          })();
          await r.register(sampleService(svc, "1.0.0", [sampleNode(svc, "a")]));
          await within(loop, visible, "for await over the watcher");
          assert.deepEqual(seen, [`create:${svc}`]);
          const second = r.watch({ service: svc });
          const log = new EventLog(second);
          await second[Symbol.asyncDispose]();
          await within(log.ended, 3_000, "iteration after Symbol.asyncDispose");
        },
      },
      {
        name: "a watcher on another client sees registrations",
        run: async (scope) => {
          const writer = await open(scope);
          const reader = await open(scope);
          const svc = uniqueName("watch-cross");
          const { log } = await startWatch(reader, scope, svc);
          await writer.register(sampleService(svc, "1.0.0", [sampleNode(svc, "a")]));
          await waitFor("create event on the other client", () => findEvent(log, "create", svc), visible);
        },
      },
      {
        name: "getService on another client sees registrations and deregistrations",
        run: async (scope) => {
          const writer = await open(scope);
          const reader = await open(scope);
          const svc = uniqueName("reg-cross");
          const record = sampleService(svc, "1.0.0", [sampleNode(svc, "a")]);
          await writer.register(record);
          const got = await waitNodes(reader, svc, [`${svc}-a`], "registration seen by the other client");
          assert.deepEqual(normalizeService(got[0] as ServiceRecord), normalizeService(record));
          await writer.deregister(record);
          await waitFor(
            "deregistration seen by the other client",
            async () => (await getOrEmpty(reader, svc)).length === 0,
            visible,
          );
        },
      },
      {
        name: "close() is idempotent",
        run: async () => {
          const r = await options.create();
          await within(r.close(), 5_000, "first close()");
          await within(r.close(), 5_000, "second close()");
        },
      },
      {
        name: "unknown service rejects with 404 and a clear detail",
        run: async (scope) => {
          const r = await open(scope);
          const svc = uniqueName("reg-missing");
          const err = await rejectsWith(r.getService(svc), 404, 5_000, "getService of an unknown service");
          assert.match(err.detail, /not found/i, `detail should say the service is not found: ${err.detail}`);
        },
      },
    ],
    options.skip,
    options.cleanup,
  );
}
