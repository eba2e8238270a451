import type { Context } from "../context/context.js";
import { currentContext } from "../context/context.js";
import { MicroError } from "../errors/micro-error.js";
import { abortReason } from "../internal/signals.js";
import { Metadata, type MetadataInit } from "../metadata/metadata.js";
import { isHopHeader } from "../rpc/headers.js";

const ID = "go.micro.client";
const NO_PARENTS: readonly AbortSignal[] = [];

/**
 * The budget, cancellation and metadata of one call, inherited from the running handler: the
 * caller's metadata flows on (minus hop-by-hop headers), the deadline never exceeds what the
 * handler has left, and the caller's or the handler's cancellation cancels the call.
 *
 * Nothing is allocated for what a call does not use: the deadline is a number, and an
 * `AbortSignal` (with its timer) is created only when something reads {@link CallScope.signal}.
 * Unary calls never do; they time themselves out with one timer per attempt.
 */
export class CallScope {
  /** Absolute deadline (epoch ms), or undefined for none. */
  readonly deadline: number | undefined;
  /** Headers the call carries for the caller: the handler's forwarded metadata and the options'. */
  readonly metadata: Record<string, string>;
  /** The caller's signal and the running handler's, if any. */
  readonly parents: readonly AbortSignal[];
  private controller: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private onParentAbort: (() => void) | undefined;
  /** When the scope was made (epoch ms). */
  private readonly created: number;

  constructor(
    /** What the call is, for error messages (`call greeter.Say.Hello`). */
    readonly what: string,
    options: {
      signal?: AbortSignal | undefined;
      timeoutMs?: number | undefined;
      metadata?: MetadataInit | undefined;
    },
    defaultTimeoutMs: number | undefined,
    /** The running handler's context (`currentContext()`), whose budget and metadata flow on. */
    ctx: Context | undefined,
  ) {
    const now = Date.now();
    this.created = now;
    let timeout = options.timeoutMs ?? defaultTimeoutMs;
    if (ctx?.deadline !== undefined) {
      const left = ctx.deadline - now;
      timeout = timeout === undefined ? left : Math.min(timeout, left);
    }
    this.deadline = timeout === undefined || timeout === Number.POSITIVE_INFINITY ? undefined : now + timeout;
    const signal = options.signal;
    const ctxSignal = ctx?.signal;
    this.parents =
      signal && ctxSignal ? [signal, ctxSignal] : signal ? [signal] : ctxSignal ? [ctxSignal] : NO_PARENTS;
    this.metadata = callMetadata(ctx, options.metadata);
  }

  /** Milliseconds left before the deadline (never negative), or undefined without one. */
  remainingMs(): number | undefined {
    return this.deadline === undefined ? undefined : Math.max(0, this.deadline - Date.now());
  }

  /** Why the call must end now (408 past the deadline, the caller's 499), or undefined. */
  reason(): MicroError | undefined {
    for (const p of this.parents) if (p.aborted) return abortReason(ID, this.what, p);
    if (this.controller?.signal.aborted) return abortReason(ID, this.what, this.controller.signal);
    if (this.deadline !== undefined && Date.now() >= this.deadline) return this.timeoutError();
    return undefined;
  }

  /** The 408 a call gets when its deadline passes. */
  timeoutError(): MicroError {
    const budget = this.deadline === undefined ? "" : ` of ${Math.round(this.deadline - this.created)}ms`;
    return MicroError.timeout(ID, `${this.what}: deadline${budget} exceeded`);
  }

  /**
   * Calls `onCancel` once if a parent signal aborts (at once if one already has); returns the
   * function that stops listening. Without parents, nothing is registered.
   */
  listen(onCancel: (reason: MicroError) => void): () => void {
    const parents = this.parents;
    if (parents.length === 0) return noop;
    for (const p of parents) {
      if (p.aborted) {
        onCancel(abortReason(ID, this.what, p));
        return noop;
      }
    }
    const handler = () => {
      for (const p of parents) p.removeEventListener("abort", handler);
      onCancel(this.reason() ?? MicroError.canceled(ID, `${this.what}: canceled`));
    };
    for (const p of parents) p.addEventListener("abort", handler, { once: true });
    return () => {
      for (const p of parents) p.removeEventListener("abort", handler);
    };
  }

  /** `promise`, or this scope's 408/499 if that comes first (no AbortSignal involved). */
  race<T>(promise: Promise<T>): Promise<T> {
    const left = this.remainingMs();
    if (left === undefined && this.parents.length === 0) return promise;
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let unlisten = noop;
      const done = (err: unknown) => {
        if (timer !== undefined) clearTimeout(timer);
        unlisten();
        reject(err);
      };
      unlisten = this.listen(done);
      if (left !== undefined) timer = setTimeout(() => done(this.timeoutError()), left);
      promise.then((v) => {
        if (timer !== undefined) clearTimeout(timer);
        unlisten();
        resolve(v);
      }, done);
    });
  }

  /**
   * An AbortSignal for the whole call: it aborts with 408 at the deadline, or with the parent's
   * reason. Created on first use; {@link cleanup} stops its timer.
   */
  get signal(): AbortSignal {
    if (this.controller) return this.controller.signal;
    const controller = new AbortController();
    this.controller = controller;
    const early = this.reason();
    if (early) {
      controller.abort(early);
      return controller.signal;
    }
    if (this.parents.length > 0) {
      const parents = this.parents;
      const onAbort = () => {
        for (const p of parents) p.removeEventListener("abort", onAbort);
        controller.abort(this.reason());
      };
      for (const p of parents) p.addEventListener("abort", onAbort, { once: true });
      this.onParentAbort = onAbort;
    }
    const left = this.remainingMs();
    if (left !== undefined) this.timer = setTimeout(() => controller.abort(this.timeoutError()), left);
    return controller.signal;
  }

  /** Releases the timer and listeners of {@link signal}, if it was created. */
  cleanup(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const onAbort = this.onParentAbort;
    if (onAbort) for (const p of this.parents) p.removeEventListener("abort", onAbort);
    this.onParentAbort = undefined;
  }
}

/** Shorthand for `new CallScope(...)`. */
export function callScope(
  what: string,
  options: ConstructorParameters<typeof CallScope>[1],
  defaultTimeoutMs: number | undefined,
  ctx?: Context,
): CallScope {
  return new CallScope(what, options, defaultTimeoutMs, ctx ?? currentContext());
}

const EMPTY_METADATA: Readonly<Record<string, string>> = Object.freeze({});

/**
 * The metadata a call carries: the handler's own (minus hop-by-hop headers) with the options'
 * over it, matched case-insensitively. The common case, neither, allocates nothing.
 */
function callMetadata(ctx: Context | undefined, init: MetadataInit | undefined): Record<string, string> {
  const inherited = ctx?.metadata;
  if (inherited === undefined || inherited.size === 0) {
    if (init === undefined) return EMPTY_METADATA as Record<string, string>;
    if (!(init instanceof Metadata) && !isIterable(init)) return init;
    return new Metadata(init).toRecord();
  }
  const md = new Metadata();
  for (const [k, v] of inherited) if (!isHopHeader(k)) md.set(k, v);
  if (init !== undefined) md.merge(init);
  return md.toRecord();
}

function isIterable(v: object): v is Iterable<readonly [string, string]> {
  return Symbol.iterator in v;
}

function noop(): void {}
