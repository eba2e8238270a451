/**
 * Values by string id, for entries that come and go all the time: the calls in flight on a
 * connection, matched to their replies by `Micro-Id`. It does the job of a `Map<string, V>`
 * without what a `Map` costs in V8 under that churn.
 *
 * A `Map` that keeps taking and dropping entries rebuilds its hash table every few dozen
 * insertions. The table it leaves behind keeps a link to its successor and keeps the entries it
 * held then. Once one table has been moved to the old generation (a full collection moves
 * everything alive), each of its successors stays alive at every minor collection until the next
 * full one, with every call that was in flight when it was replaced: the young generation
 * collector cannot see that the old table is garbage. Measured on a client making 64 concurrent
 * calls over HTTP: about 1 MB survived each minor collection, almost all of it then promoted,
 * where about 170 KB survive with this table.
 *
 * This table is a prototype-less object in dictionary mode: a replaced table keeps no link, so
 * nothing outlives its minor collection. Lookups of ids that are not keys (a stray reply's id,
 * `__proto__`, `constructor`) find nothing. `undefined` is not a value it can hold.
 */
export class IdTable<V> {
  private table: Record<string, V | undefined> = Object.create(null);
  private count = 0;

  /** Entries held. */
  get size(): number {
    return this.count;
  }

  /** The value for `id`, or `undefined`. */
  get(id: string): V | undefined {
    return this.table[id];
  }

  /** Adds `id`, or replaces its value. */
  set(id: string, value: V): void {
    if (this.table[id] === undefined) this.count++;
    this.table[id] = value;
  }

  /** Removes `id`; false when it was not there. */
  delete(id: string): boolean {
    if (this.table[id] === undefined) return false;
    delete this.table[id];
    this.count--;
    return true;
  }

  /** One entry, or `undefined` when empty (the only one, when {@link size} is 1). */
  first(): [string, V] | undefined {
    if (this.count === 0) return undefined;
    for (const id in this.table) return [id, this.table[id] as V];
    return undefined;
  }

  /** A copy of the entries, in no promised order: the table may change while they are visited. */
  entries(): [string, V][] {
    const out: [string, V][] = [];
    if (this.count === 0) return out;
    for (const id in this.table) out.push([id, this.table[id] as V]);
    return out;
  }
}
