import assert from "node:assert/strict";
import { test } from "node:test";
import { durableName, safeName, subjectCovers } from "./subjects.js";

test("subjectCovers follows NATS wildcard rules, for literal and wildcard topics", () => {
  const cases: Array<[string, string, boolean]> = [
    ["a.b", "a.b", true],
    ["a.b", "a.c", false],
    ["a.*", "a.b", true],
    ["a.*", "a.b.c", false],
    ["a.>", "a.b.c", true],
    ["a.>", "a", false],
    [">", "anything.at.all", true],
    ["a.*", "a.*", true],
    ["a.*", "a.>", false],
    ["a.b", "a.*", false],
    ["a.>", "a.*.c", true],
    ["*.created", "user.created", true],
    ["user.created", "user", false],
  ];
  for (const [pattern, subject, want] of cases) {
    assert.equal(subjectCovers(pattern, subject), want, `${pattern} covers ${subject}`);
  }
});

test("names for JetStream have no dots, wildcards or spaces; durable names differ per (queue, topic)", () => {
  assert.equal(safeName("user.created > *"), "user_created____");
  assert.equal(safeName(""), "_");
  const a = durableName("billing", "user.created");
  assert.match(a, /^billing_user_created_[0-9a-f]{8}$/);
  assert.equal(durableName("billing", "user.created"), a, "stable across processes");
  assert.notEqual(durableName("billing", "user_created"), a, "sanitised collisions differ by hash");
  assert.notEqual(durableName("shipping", "user.created"), a);
});
