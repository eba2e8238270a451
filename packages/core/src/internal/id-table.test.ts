import assert from "node:assert/strict";
import { test } from "node:test";
import v8 from "node:v8";
import { exposeGc } from "@microts/testing";
import { IdTable } from "./id-table.js";

test("IdTable: set, get, delete and size, as a Map would", () => {
  const t = new IdTable<number>();
  assert.equal(t.size, 0);
  assert.equal(t.first(), undefined);
  t.set("1", 10);
  t.set("a", 20);
  t.set("1", 11); // replaces
  assert.equal(t.size, 2);
  assert.equal(t.get("1"), 11);
  assert.equal(t.get("a"), 20);
  assert.equal(t.get("2"), undefined);
  assert.equal(t.delete("1"), true);
  assert.equal(t.delete("1"), false);
  assert.equal(t.size, 1);
  assert.deepEqual(t.first(), ["a", 20]);
});

test("IdTable: ids that name Object.prototype's members find nothing and can be stored", () => {
  const t = new IdTable<string>();
  for (const id of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
    assert.equal(t.get(id), undefined);
    assert.equal(t.delete(id), false);
  }
  t.set("__proto__", "p");
  assert.equal(t.get("__proto__"), "p");
  assert.equal(t.size, 1);
  assert.deepEqual(t.entries(), [["__proto__", "p"]]);
});

test("IdTable: numeric and other ids are different keys, as in a Map", () => {
  const t = new IdTable<string>();
  const ids = [
    "7",
    "007",
    "07",
    "0",
    "00",
    "-1",
    "1.5",
    "1e3",
    " 1",
    "123456789012345",
    "1234567890123456",
    "",
  ];
  for (const id of ids) t.set(id, `v${id}`);
  assert.equal(t.size, ids.length);
  for (const id of ids) assert.equal(t.get(id), `v${id}`, id);
  assert.equal(t.get("1000"), undefined);
  assert.equal(t.get("1"), undefined);
  assert.deepEqual(new Set(t.entries().map(([id]) => id)), new Set(ids));
  for (const id of ids) assert.equal(t.delete(id), true, id);
  assert.equal(t.size, 0);
  assert.equal(t.first(), undefined);
});

test("IdTable: agrees with a Map through random sets, gets and deletes (probe runs, wrap-around, growth)", () => {
  let seed = 42;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const t = new IdTable<number>();
  const model = new Map<string, number>();
  // Ids that collide in a 64-slot table (multiples of 64) and some that are kept by name.
  const idOf = (n: number) => (n % 17 === 0 ? `x${n}` : String(random(4) === 0 ? n * 64 : n));
  for (let step = 0; step < 20_000; step++) {
    const id = idOf(random(300));
    switch (random(3)) {
      case 0:
        t.set(id, step);
        model.set(id, step);
        break;
      case 1:
        assert.equal(t.delete(id), model.delete(id), `delete ${id} at step ${step}`);
        break;
      default:
        assert.equal(t.get(id), model.get(id), `get ${id} at step ${step}`);
    }
    assert.equal(t.size, model.size);
  }
  assert.deepEqual(new Map(t.entries()), model);
  for (const id of model.keys()) assert.equal(t.get(id), model.get(id));
});

test("IdTable: entries is a copy, so the table may change while it is visited", () => {
  const t = new IdTable<number>();
  for (let i = 0; i < 100; i++) t.set(String(i), i);
  let seen = 0;
  for (const [id] of t.entries()) {
    t.delete(id);
    seen++;
  }
  assert.equal(seen, 100);
  assert.equal(t.size, 0);
  assert.deepEqual(t.entries(), []);
});

test("IdTable: holds its size through heavy churn with ever-growing numeric ids", () => {
  const t = new IdTable<number>();
  for (let i = 0; i < 50_000; i++) {
    t.set(String(i), i);
    if (i >= 64) assert.equal(t.delete(String(i - 64)), true);
  }
  assert.equal(t.size, 64);
  assert.equal(t.get("49999"), 49_999);
  assert.equal(t.get("49935"), undefined);
  assert.equal(t.entries().length, 64);
});

// What the table exists for (see its doc): under churn, entries it dropped must not survive minor
// collections once the table has been through a full one. A Map is measured alongside, as the
// control: it shows the effect on this V8, and the table must keep far less alive.
test("IdTable: dropped entries do not pile up in the old generation under churn, unlike a Map's", () => {
  const gc = exposeGc();
  const oldSpaceUsed = () =>
    v8.getHeapSpaceStatistics().find((s) => s.space_name === "old_space")?.space_used_size ?? 0;
  const grewBy = (table: { set(id: string, v: unknown): void; delete(id: string): boolean }) => {
    let n = 0;
    const churn = (count: number) => {
      for (let i = 0; i < count; i++) {
        const id = String(n++);
        table.set(id, { id, data: new Array(64).fill(n) });
        if (n > 64) table.delete(String(n - 65));
      }
    };
    churn(1_000);
    gc(); // the table, and what is in flight, move to the old generation
    const before = oldSpaceUsed();
    for (let round = 0; round < 20; round++) {
      churn(5_000);
      gc({ type: "minor" });
    }
    return oldSpaceUsed() - before;
  };
  const map = grewBy(new Map<string, unknown>());
  const table = grewBy(new IdTable<unknown>());
  // 100,000 entries of about 600 bytes each went through each table, 64 at a time.
  assert.ok(table < 8 << 20, `IdTable: the old generation grew by ${table} bytes`);
  if (map > 8 << 20) assert.ok(table * 3 < map, `IdTable ${table} bytes, Map ${map} bytes`);
});
