import assert from "node:assert/strict";
import { test } from "node:test";
import { compiledMakers, HeaderBuilder } from "./header-builder.js";

/** Builds `entries` with `b` as a decoder does. */
function build(b: HeaderBuilder, entries: ReadonlyArray<readonly [string, string]>): Record<string, string> {
  b.begin();
  for (const [name, value] of entries) b.add(name, value);
  return b.build();
}

/** What storing the entries one by one into a fresh object gives (`__proto__` as an own property). */
function expected(entries: ReadonlyArray<readonly [string, string]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of entries)
    Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

function assertSame(got: Record<string, string>, want: Record<string, string>): void {
  assert.deepEqual(Object.keys(got), Object.keys(want));
  assert.deepEqual(Object.entries(got), Object.entries(want));
  assert.equal(Object.getPrototypeOf(got), Object.prototype);
}

test("HeaderBuilder: a repeated name sequence gets a compiled maker, and its objects are the same as built entry by entry", () => {
  const b = new HeaderBuilder();
  const before = compiledMakers();
  // Quotes, backslashes, line and paragraph separators: the names are quoted into source text.
  const names = ["Micro-Id", "Content-Type", 'x"quote', "back\\slash", "line\u2028sep", "new\nline", "é"];
  for (let i = 0; i < 20; i++) {
    const entries = names.map((n, j) => [n, `v${i}-${j}`] as const);
    assertSame(build(b, entries), expected(entries));
  }
  assert.equal(compiledMakers(), before + 1);
  // Another builder with the same sequence shares the maker: nothing more is compiled.
  const other = new HeaderBuilder();
  for (let i = 0; i < 10; i++)
    build(
      other,
      names.map((n) => [n, "x"] as const),
    );
  assert.equal(compiledMakers(), before + 1);
});

test("HeaderBuilder: changing sequences, repeated names and __proto__ build as stored one by one", () => {
  const b = new HeaderBuilder();
  const before = compiledMakers();
  const cases: Array<Array<readonly [string, string]>> = [
    [
      ["a", "1"],
      ["b", "2"],
      ["a", "3"],
    ],
    [
      ["__proto__", "p"],
      ["b", "2"],
    ],
    [],
    [["only", "1"]],
  ];
  for (let i = 0; i < 12; i++) for (const entries of cases) assertSame(build(b, entries), expected(entries));
  for (let i = 0; i < 12; i++) {
    assertSame(build(b, cases[0] as []), expected(cases[0] as []));
    const proto = build(b, cases[1] as []);
    assert.equal(Object.getOwnPropertyDescriptor(proto, "__proto__")?.value, "p");
  }
  // Neither the sequence with a repeated name nor the one with __proto__ was compiled.
  assert.equal(compiledMakers(), before);
});

test("HeaderBuilder: begin drops what a malformed block left", () => {
  const b = new HeaderBuilder();
  b.begin();
  b.add("half", "read");
  assertSame(build(b, [["x", "1"]]), { x: "1" });
});

test("HeaderBuilder: a process compiles at most 64 makers; later sequences are still built right", () => {
  const b = new HeaderBuilder();
  for (let s = 0; s < 80; s++) {
    const entries = [
      [`name-${s}`, "v"],
      ["Micro-Id", String(s)],
    ] as const;
    for (let i = 0; i < 9; i++) assertSame(build(b, entries), expected(entries));
  }
  assert.equal(compiledMakers(), 64);
});
