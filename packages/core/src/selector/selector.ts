import type { IoOptions } from "../context/call-options.js";
import type { Node, Service } from "../registry/registry.js";

/**
 * Picks the next node. `exclude` holds ids of nodes already tried in this call; a strategy returns
 * one of them only when nothing else is left. Throws MicroError 503 when no node exists.
 */
export type Next = ((exclude?: ReadonlySet<string>) => Node) & {
  /** The candidate services the nodes come from (endpoints and their metadata), when known. */
  readonly services?: readonly Service[];
};

/** Narrows the candidate services (and their nodes) before the strategy picks. */
export type Filter = (services: Service[]) => Service[];

/** What a selector knows about nodes' current load, for strategies that balance by it. */
export interface NodeStats {
  /** Calls in progress to the node (as reported through `Selector.track`). */
  outstanding(nodeId: string): number;
}

/** Builds a `Next` over the candidate services. Called once per call. */
export type Strategy = (services: Service[], stats?: NodeStats) => Next;

/** Options for {@link Selector.select}. */
export interface SelectOptions extends IoOptions {
  /** Applied in order. Default: none. */
  filters?: Filter[] | undefined;
  /** Overrides the selector's strategy for this call. */
  strategy?: Strategy | undefined;
}

/**
 * Chooses a node for each call: Go Micro's `selector.Selector`. `mark` feeds outcomes back so the
 * selector can avoid failing nodes; `reset` forgets what was learned about a service.
 *
 * Errors from `select`: MicroError 500 `service X: not found` when the registry has no such
 * service (Go Micro's wording and code), 503 when filters leave no node.
 */
export interface Selector {
  readonly name: string;
  select(service: string, options?: SelectOptions): Promise<Next>;
  /** Records the outcome of a call to `node` (`error` undefined means success). */
  mark(service: string, node: Node, error?: unknown): void;
  /** Forgets marks for the service. */
  reset(service: string): void;
  /**
   * Optional: records that a call to `node` started; the returned function records its end.
   * Selectors that balance by load (least outstanding requests) implement it; the client calls it
   * around every attempt when present.
   */
  track?(service: string, node: Node): () => void;
  /** Stops watches and timers. Idempotent. */
  close(): Promise<void>;
}
