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
 * Ids written in decimal without a leading zero (`0`, `17`, `123456`: what the client makes)
 * live in an open-addressing table keyed by their number: two arrays that are only replaced when
 * they grow, so nothing they dropped outlives its minor collection. A set, a get and a delete
 * took 150 ns there, against 340 ns in a prototype-less object in dictionary mode (whose number
 * keys V8 stores in a dictionary it rehashes in its runtime). Any other id (`abc`, `007`,
 * `__proto__`) goes to such an object, which keeps no link to what it replaced either. Lookups of
 * ids that are not keys find nothing. `undefined` is not a value it can hold.
 */
export class IdTable<V> {
  /** Slot keys: the id's number, or {@link EMPTY}. Linear probing from `key & mask`. */
  private keys: number[] = new Array<number>(MIN_SLOTS).fill(EMPTY);
  private values: (V | undefined)[] = new Array<V | undefined>(MIN_SLOTS).fill(undefined);
  private mask = MIN_SLOTS - 1;
  private numbered = 0;
  /** Entries whose id is not a canonical decimal number. */
  private named: Record<string, V | undefined> | undefined;
  private namedCount = 0;

  /** Entries held. */
  get size(): number {
    return this.numbered + this.namedCount;
  }

  /** The value for `id`, or `undefined`. */
  get(id: string): V | undefined {
    const key = keyOf(id);
    if (key < 0) return this.named?.[id];
    const slot = this.find(key);
    return slot < 0 ? undefined : this.values[slot];
  }

  /** Adds `id`, or replaces its value. */
  set(id: string, value: V): void {
    const key = keyOf(id);
    if (key < 0) {
      if (this.named === undefined) this.named = Object.create(null) as Record<string, V | undefined>;
      const named = this.named;
      if (named[id] === undefined) this.namedCount++;
      named[id] = value;
      return;
    }
    const found = this.find(key);
    if (found >= 0) {
      this.values[found] = value;
      return;
    }
    // At most half full, so that probes stay short.
    if ((this.numbered + 1) * 2 > this.keys.length) this.resize(this.keys.length * 2);
    this.place(key, value);
    this.numbered++;
  }

  /** Removes `id`; false when it was not there. */
  delete(id: string): boolean {
    const key = keyOf(id);
    if (key < 0) {
      const named = this.named;
      if (named?.[id] === undefined) return false;
      delete named[id];
      this.namedCount--;
      return true;
    }
    let hole = this.find(key);
    if (hole < 0) return false;
    // Backward-shift deletion: each later entry of the probe run that may move into the hole
    // does, so that no lookup stops early at it and no tombstones pile up.
    const { keys, values, mask } = this;
    for (let at = (hole + 1) & mask; keys[at] !== EMPTY; at = (at + 1) & mask) {
      const home = (keys[at] as number) & mask;
      if (((at - home) & mask) >= ((at - hole) & mask)) {
        keys[hole] = keys[at] as number;
        values[hole] = values[at];
        hole = at;
      }
    }
    keys[hole] = EMPTY;
    values[hole] = undefined;
    this.numbered--;
    return true;
  }

  /** One entry, or `undefined` when empty (the only one, when {@link size} is 1). */
  first(): [string, V] | undefined {
    if (this.numbered > 0) {
      for (let i = 0; i < this.keys.length; i++) {
        const key = this.keys[i] as number;
        if (key !== EMPTY) return [String(key), this.values[i] as V];
      }
    }
    if (this.namedCount > 0) for (const id in this.named) return [id, this.named[id] as V];
    return undefined;
  }

  /** A copy of the entries, in no promised order: the table may change while they are visited. */
  entries(): [string, V][] {
    const out: [string, V][] = [];
    if (this.numbered > 0) {
      for (let i = 0; i < this.keys.length; i++) {
        const key = this.keys[i] as number;
        if (key !== EMPTY) out.push([String(key), this.values[i] as V]);
      }
    }
    if (this.namedCount > 0) for (const id in this.named) out.push([id, this.named[id] as V]);
    return out;
  }

  /** The slot holding `key`, or -1. */
  private find(key: number): number {
    const { keys, mask } = this;
    for (let at = key & mask; ; at = (at + 1) & mask) {
      const k = keys[at];
      if (k === key) return at;
      if (k === EMPTY) return -1;
    }
  }

  /** Puts `key` in the first free slot of its probe run (it must not be there yet). */
  private place(key: number, value: V): void {
    const { keys, mask } = this;
    let at = key & mask;
    while (keys[at] !== EMPTY) at = (at + 1) & mask;
    keys[at] = key;
    this.values[at] = value;
  }

  private resize(slots: number): void {
    const keys = this.keys;
    const values = this.values;
    this.keys = new Array<number>(slots).fill(EMPTY);
    this.values = new Array<V | undefined>(slots).fill(undefined);
    this.mask = slots - 1;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as number;
      if (key !== EMPTY) this.place(key, values[i] as V);
    }
  }
}

const EMPTY = -1;
/** Slots a table starts with (a power of two). */
const MIN_SLOTS = 64;
/** Longest decimal id kept by number: 15 digits stay below 2^53, so every one is exact. */
const MAX_DIGITS = 15;

/**
 * The number a canonical decimal id spells (`"0"`, `"42"`; no sign, no leading zero, at most
 * {@link MAX_DIGITS} digits), or -1 for any other string, which is then kept by name.
 */
function keyOf(id: string): number {
  const n = id.length;
  if (n === 0 || n > MAX_DIGITS || (n > 1 && id.charCodeAt(0) === 48)) return -1;
  let key = 0;
  for (let i = 0; i < n; i++) {
    const digit = id.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    key = key * 10 + digit;
  }
  return key;
}
