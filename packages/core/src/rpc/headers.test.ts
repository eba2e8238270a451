import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { getHeader, Header, parseTimeoutHeader, readRouting } from "./headers.js";

test("readRouting reads every routing header in one pass", () => {
  const r = readRouting({
    "Micro-Id": "7",
    "Micro-Service": "greeter",
    "Micro-Endpoint": "Say.Hello",
    "Micro-Method": "Say.Hello",
    "Content-Type": "application/json",
    Timeout: "5000000000",
    "X-User": "alice",
  });
  assert.equal(r.id, "7");
  assert.equal(r.service, "greeter");
  assert.equal(r.endpoint, "Say.Hello");
  assert.equal(r.method, "Say.Hello");
  assert.equal(r.contentType, "application/json");
  assert.equal(r.timeout, "5000000000");
  assert.equal(r.topic, undefined);
  assert.equal(r.stream, undefined);
  assert.equal(r.error, undefined);
});

test("readRouting follows getHeader: exact spelling, then any case, then the X- form, whatever the order", () => {
  const cases: Record<string, string>[] = [
    { "x-micro-stream": "x", "micro-stream": "lower", "Micro-Stream": "exact" },
    { "Micro-Stream": "exact", "MICRO-STREAM": "upper" },
    { "X-Micro-Stream": "x", "mICRO-sTREAM": "odd" },
    { "X-Micro-Stream": "x" },
    { "Micro-Streams": "no" },
  ];
  for (const h of cases) assert.equal(readRouting(h).stream, getHeader(h, Header.Stream), JSON.stringify(h));
});

test("getHeader: exact spelling, then any case, then the X- form (any case)", () => {
  assert.equal(getHeader({ "Micro-Error": "a", "micro-error": "b" }, Header.Error), "a");
  assert.equal(getHeader({ "x-micro-error": "x", "MICRO-ERROR": "b" }, Header.Error), "b");
  assert.equal(getHeader({ "X-Micro-Error": "x" }, Header.Error), "x");
  assert.equal(getHeader({ "x-MICRO-error": "x" }, Header.Error), "x");
  assert.equal(getHeader({ "Y-Micro-Error": "y", "XxMicro-Error": "z" }, Header.Error), undefined);
  assert.equal(getHeader({ "Micro-Errors": "no", "Micro-Erro": "no" }, Header.Error), undefined);
  assert.equal(getHeader({}, Header.Error), undefined);
});

test("readRouting reads each routing field as getHeader does, for any mix of spellings", () => {
  const fields = {
    topic: Header.Topic,
    service: Header.Service,
    endpoint: Header.Endpoint,
    method: Header.Method,
    id: Header.Id,
    error: Header.Error,
    stream: Header.Stream,
    protocol: Header.Protocol,
    target: Header.Target,
    contentType: Header.ContentType,
    timeout: Header.Timeout,
  } as const;
  const spellings = (name: string) => [
    name,
    name.toLowerCase(),
    name.toUpperCase(),
    `X-${name}`,
    `x-${name}`,
  ];
  const names = fc.constantFrom(
    ...Object.values(fields).flatMap(spellings),
    Header.Accept,
    "X-User",
    "Micro-Ids",
    "__proto__",
  );
  fc.assert(
    fc.property(fc.dictionary(names, fc.string({ maxLength: 4 }), { maxKeys: 12 }), (h) => {
      const r = readRouting(h);
      for (const [field, name] of Object.entries(fields)) {
        assert.equal(r[field as keyof typeof fields], getHeader(h, name), `${field} of ${JSON.stringify(h)}`);
      }
    }),
  );
});

test("parseTimeoutHeader: nanoseconds in decimal digits to milliseconds; anything else is no timeout", () => {
  assert.equal(parseTimeoutHeader("5000000000"), 5000);
  assert.equal(parseTimeoutHeader("1"), 0.000001);
  assert.equal(parseTimeoutHeader("0001500000"), 1.5);
  assert.equal(parseTimeoutHeader("9007199254740992"), 9007199254.740992);
  for (const bad of [
    undefined,
    "",
    "0",
    "000",
    "-5",
    "+5",
    "5s",
    " 5",
    "5 ",
    "1e9",
    "1.5",
    "0x10",
    "٥",
    "9".repeat(400),
  ]) {
    assert.equal(parseTimeoutHeader(bad), undefined, JSON.stringify(bad));
  }
});

test("parseTimeoutHeader reads what Number() reads from a string of digits", () => {
  const byNumber = (v: string) => {
    const ns = /^\d+$/.test(v) ? Number(v) : Number.NaN;
    return Number.isFinite(ns) && ns > 0 ? ns / 1_000_000 : undefined;
  };
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.stringMatching(/^\d{1,16}$/)), (v) => {
      assert.equal(parseTimeoutHeader(v), byNumber(v));
    }),
  );
});
