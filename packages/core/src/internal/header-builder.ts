import { setOwn } from "./plain-json.js";

/**
 * Makes the header object of one name sequence from its values (`values[i]` is the value of the
 * sequence's `i`-th name).
 */
type Maker = (values: readonly string[]) => Record<string, string>;

/** Blocks in a row with the same names after which a connection's headers are made by a {@link Maker}. */
const REPEATS = 8;
/** Most makers a process compiles; later sequences are always built entry by entry. */
const MAX_MAKERS = 64;
/** The makers compiled, by name sequence (`null`: this sequence cannot have one). */
const makers = new Map<string, Maker | null>();

/**
 * Builds the header objects of one direction of a connection, entry by entry, in the order they
 * were read: `begin`, `add` each name and value, then `build`. Repeated names keep the last value; a
 * `__proto__` name is an own property.
 *
 * A connection's messages nearly always carry the same names in the same order (a client's
 * requests, a server's replies). Stored one by one, each name is a store the engine cannot
 * predict, about 170 instructions in V8 (Node 20). Once a sequence has come {@link REPEATS} times
 * in a row, its objects are made by a function compiled for it (an object literal of its names,
 * quoted with `JSON.stringify`): with it, a server took 500 to 700 instructions less per request
 * (callgrind, TCP transport, c=64, 16 B: 25,200 before, 24,400 to 24,700 in runs after). At most
 * {@link MAX_MAKERS} are compiled in a process, so a peer that varies its names costs only the
 * entry-by-entry stores. Where code generation is not allowed
 * (`--disallow-code-generation-from-strings`), every object is built entry by entry.
 */
export class HeaderBuilder {
  /** The names and values added since the last {@link build}. */
  private readonly names: string[] = [];
  private readonly values: string[] = [];
  private count = 0;
  /** The name sequence of the last block built, how many blocks in a row had it, and its maker. */
  private lastNames: string[] = [];
  private repeats = 0;
  private maker: Maker | undefined;

  /** Starts a header block, dropping what a block left unbuilt (one that was malformed, say). */
  begin(): void {
    for (let i = 0; i < this.count; i++) this.values[i] = "";
    this.count = 0;
  }

  add(name: string, value: string): void {
    this.names[this.count] = name;
    this.values[this.count] = value;
    this.count++;
  }

  /** The header object of what was added since the last call. */
  build(): Record<string, string> {
    const n = this.count;
    this.count = 0;
    const { names, values } = this;
    let header: Record<string, string>;
    if (this.sameAsLast(n)) {
      if (this.maker === undefined && ++this.repeats === REPEATS) this.maker = makerFor(this.lastNames);
      header = this.maker === undefined ? entries(names, values, n) : this.maker(values);
    } else {
      this.lastNames = names.slice(0, n);
      this.repeats = 1;
      this.maker = undefined;
      header = entries(names, values, n);
    }
    // Nothing of this message stays here: an idle connection must not keep its last one alive.
    for (let i = 0; i < n; i++) values[i] = "";
    return header;
  }

  private sameAsLast(n: number): boolean {
    const last = this.lastNames;
    if (last.length !== n) return false;
    for (let i = 0; i < n; i++) if (last[i] !== this.names[i]) return false;
    return true;
  }
}

/** The header object of the first `n` names and values, stored one by one. */
function entries(names: readonly string[], values: readonly string[], n: number): Record<string, string> {
  const header: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    setOwn(header, names[i] as string, values[i] as string);
  }
  return header;
}

/** How many makers this process has compiled (for tests). */
export function compiledMakers(): number {
  let n = 0;
  for (const m of makers.values()) if (m !== null) n++;
  return n;
}

/**
 * The maker of the sequence `names`: compiled once per process, shared by every connection. None
 * for a sequence with a repeated name or `__proto__` (an object literal would set the prototype),
 * once {@link MAX_MAKERS} are compiled, or where code generation is not allowed.
 */
function makerFor(names: readonly string[]): Maker | undefined {
  const key = JSON.stringify(names);
  const known = makers.get(key);
  if (known !== undefined) return known ?? undefined;
  if (makers.size >= MAX_MAKERS) return undefined;
  let maker: Maker | null = null;
  if (!names.includes("__proto__") && new Set(names).size === names.length) {
    // Each name becomes a quoted string literal: JSON's string syntax is JavaScript's.
    const fields = names.map((name, i) => `${JSON.stringify(name)}: v[${i}]`).join(", ");
    try {
      maker = new Function("v", `"use strict"; return { ${fields} };`) as Maker;
    } catch {
      maker = null;
    }
  }
  makers.set(key, maker);
  return maker ?? undefined;
}
