/** Anything that can initialise Metadata: a plain record, another Metadata, or key/value pairs. */
export type MetadataInit = Metadata | Record<string, string> | Iterable<readonly [string, string]>;

/**
 * Request metadata: string keys to string values, looked up case-insensitively (`authorization`
 * finds `Authorization`). The spelling of the first `set` of a key is kept, because it is what goes
 * on the wire (Go peers look some keys up by exact spelling).
 *
 * Go Micro carries metadata as transport headers; over HTTP those are canonicalised, so never rely
 * on a key's case surviving a hop.
 */
export class Metadata implements Iterable<[string, string]> {
  private readonly map = new Map<string, [string, string]>();

  constructor(init?: MetadataInit) {
    if (init) this.merge(init);
  }

  /** Builds Metadata from any init form (returns a copy, never the same instance). */
  static from(init?: MetadataInit): Metadata {
    return new Metadata(init);
  }

  /** The value for `key` in any case, or undefined. */
  get(key: string): string | undefined {
    return this.map.get(key.toLowerCase())?.[1];
  }

  /** True when `key` (any case) is present. */
  has(key: string): boolean {
    return this.map.has(key.toLowerCase());
  }

  /** Sets `key`; an existing entry keeps its original spelling. Returns this for chaining. */
  set(key: string, value: string): this {
    const lower = key.toLowerCase();
    const prev = this.map.get(lower);
    this.map.set(lower, [prev ? prev[0] : key, value]);
    return this;
  }

  /** Removes `key` (any case). Returns true when it was present. */
  delete(key: string): boolean {
    return this.map.delete(key.toLowerCase());
  }

  /** Copies entries from `other`; with `overwrite` false, keys already present are kept. */
  merge(other: MetadataInit, overwrite = true): this {
    const entries: Iterable<readonly [string, string]> =
      other instanceof Metadata || Symbol.iterator in other
        ? (other as Iterable<readonly [string, string]>)
        : Object.entries(other);
    for (const [k, v] of entries) {
      if (overwrite || !this.has(k)) this.set(k, v);
    }
    return this;
  }

  /** Number of entries. */
  get size(): number {
    return this.map.size;
  }

  /** Entries with their wire spelling. */
  *[Symbol.iterator](): IterableIterator<[string, string]> {
    for (const entry of this.map.values()) yield [entry[0], entry[1]];
  }

  /** A plain record with the wire spelling of every key (a copy). */
  toRecord(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of this.map.values()) out[k] = v;
    return out;
  }

  toJSON(): Record<string, string> {
    return this.toRecord();
  }
}
