import type { RequestContext } from "./request-context.js";

/**
 * The requests a server is handling. Every request enters and leaves it, so both are a few
 * array writes: no hashing, and nothing allocated once the array has grown to the most requests
 * handled at once. A `Set` reallocated its table each time it emptied (two of them cost a server
 * about 850 instructions per request when it answered each request before reading the next).
 */
export class ActiveRequests {
  private readonly items: (RequestContext | undefined)[] = [];
  private count = 0;

  /** Requests held. */
  get size(): number {
    return this.count;
  }

  /** Adds `ctx` (which must not be in a list yet). */
  add(ctx: RequestContext): void {
    ctx.activeSlot = this.count;
    if (this.count === this.items.length) this.items.push(ctx);
    else this.items[this.count] = ctx;
    this.count++;
  }

  /** Removes `ctx`; nothing when it is not here. */
  delete(ctx: RequestContext): void {
    const slot = ctx.activeSlot;
    if (slot < 0 || this.items[slot] !== ctx) return;
    const last = this.items[--this.count] as RequestContext;
    this.items[slot] = last;
    last.activeSlot = slot;
    this.items[this.count] = undefined;
    ctx.activeSlot = -1;
  }

  /** The requests held now, in no particular order: a copy, so that they may leave while it is visited. */
  snapshot(): RequestContext[] {
    return this.items.slice(0, this.count) as RequestContext[];
  }
}
