import assert from "node:assert/strict";
import { test } from "node:test";
import { ActiveRequests } from "./active-requests.js";
import { RequestContext } from "./request-context.js";

const ctx = (endpoint: string) => new RequestContext("svc", endpoint, {}, undefined, undefined, undefined);

test("ActiveRequests: add, delete in any order, and a snapshot of what is held", () => {
  const list = new ActiveRequests();
  const all = Array.from({ length: 10 }, (_, i) => ctx(`E.${i}`));
  for (const c of all) list.add(c);
  assert.equal(list.size, 10);
  for (const i of [0, 9, 4, 5, 1]) list.delete(all[i] as RequestContext);
  assert.equal(list.size, 5);
  assert.deepEqual(
    list
      .snapshot()
      .map((c) => c.endpoint)
      .sort(),
    ["E.2", "E.3", "E.6", "E.7", "E.8"],
  );
  // Deleting what is not held (again, or never added) changes nothing.
  list.delete(all[0] as RequestContext);
  list.delete(ctx("E.x"));
  assert.equal(list.size, 5);
  // A context may come back after it left.
  list.add(all[0] as RequestContext);
  assert.equal(list.size, 6);
  assert.ok(list.snapshot().includes(all[0] as RequestContext));
});

test("ActiveRequests: entries may leave while a snapshot is visited", () => {
  const list = new ActiveRequests();
  const all = Array.from({ length: 6 }, (_, i) => ctx(`E.${i}`));
  for (const c of all) list.add(c);
  const seen: string[] = [];
  for (const c of list.snapshot()) {
    seen.push(c.endpoint);
    list.delete(c);
    // Leaving ends another one too, as an expiring request may.
    if (c.endpoint === "E.1") list.delete(all[4] as RequestContext);
  }
  assert.equal(seen.length, 6);
  assert.equal(list.size, 0);
  assert.deepEqual(list.snapshot(), []);
});
