import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { deflateSync, inflateSync } from "node:zlib";
import type { Endpoint } from "@microts/core";
import fc from "fast-check";
import { decodeTxt, encodeTxt, type NodeTxt } from "./txt.js";

/** What Go 1.x's encoding/json + compress/zlib + hex produce for Go Micro's `mdnsTxt` (see README). */
const GO_JSON =
  '{"Metadata":{"broker":"http","protocol":"mucp","registry":"mdns","server":"mucp","transport":"http"},' +
  '"Service":"greeter","Version":"latest","Endpoints":[{"request":{"name":"Request","type":"Request",' +
  '"values":[{"name":"name","type":"string","values":null}]},"response":{"name":"Response","type":"Response",' +
  '"values":[{"name":"message","type":"string","values":null}]},"metadata":{},"name":"Greeter.Hello"}]}';
const GO_TXT = [
  "789c8c90b16a33311084df656af13f80fa9fa44993409ae042b95b2e22ba5d6577efc01c7af720fbecd8a44925f898d1c7ce8627f234264f881bde553e4911f1e15e1150555c0629889897a113a5299bebb193910d0146ba9e3a7bc235b15551bf7cd3025e48d73c10222625725204bc925a164644494ee608f8cf6395cc6e8",
  "86f1b94be96cee3064e732f3fef24c08ff51eaca92c74eeede1d3734d9a6be6e926c84b29edd0fa4556858dee3c3bba115dc96fd34c6669fa936cfe19bb854bffe1bcc9bf472a45d00eed3b0000fffff2bd89d6",
];

const greeter: NodeTxt = {
  service: "greeter",
  version: "latest",
  // Insertion order differs from Go's sorted map order on purpose.
  metadata: { transport: "http", protocol: "mucp", broker: "http", registry: "mdns", server: "mucp" },
  endpoints: [
    {
      name: "Greeter.Hello",
      request: { name: "Request", type: "Request", values: [{ name: "name", type: "string" }] },
      response: { name: "Response", type: "Response", values: [{ name: "message", type: "string" }] },
      metadata: {},
    },
  ],
};

/** Drops `undefined` fields (core's Go reader writes `response: undefined`). */
const plain = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;
const bytes = (s: string) => Buffer.from(s, "latin1");
const text = (chunks: Uint8Array[]) => chunks.map((c) => Buffer.from(c).toString("latin1"));

describe("TXT payload (Go's mdnsTxt)", () => {
  test("encodes exactly Go's JSON: capitalised keys, sorted maps, nulls for empty lists", () => {
    const hex = text(encodeTxt(greeter)).join("");
    assert.equal(inflateSync(Buffer.from(hex, "hex")).toString("utf8"), GO_JSON);
  });

  test("decodes the record Go produced", () => {
    assert.deepEqual(decodeTxt(GO_TXT.map(bytes)), greeter);
  });

  test("lowercase hex in 255-character strings, the last one holding the rest", () => {
    const many: Endpoint[] = Array.from({ length: 40 }, (_, i) => ({
      name: `Svc.Method${i}`,
      metadata: { index: String(i * 7919) },
      request: { name: `Req${i}`, type: `Req${i}`, values: [{ name: `f${i}`, type: "string" }] },
    }));
    const chunks = text(encodeTxt({ ...greeter, endpoints: many }));
    assert.ok(chunks.length > 2, `expected several strings, got ${chunks.length}`);
    for (const c of chunks.slice(0, -1)) assert.equal(c.length, 255);
    assert.ok((chunks.at(-1) as string).length <= 255);
    assert.match(chunks.join(""), /^[0-9a-f]+$/);
    assert.deepEqual(plain(decodeTxt(chunks.map(bytes))?.endpoints), many);
  });

  test("decodes any zlib stream (other levels, stored blocks) and case-insensitive keys", () => {
    for (const level of [0, 1, 9]) {
      const hex = deflateSync(Buffer.from(GO_JSON), { level }).toString("hex").toUpperCase();
      assert.deepEqual(decodeTxt([bytes(hex)]), greeter, `level ${level}`);
    }
    const lower = deflateSync('{"metadata":null,"service":"s","version":"v","endpoints":null}');
    assert.deepEqual(decodeTxt([bytes(lower.toString("hex"))]), {
      service: "s",
      version: "v",
      endpoints: [],
      metadata: {},
    });
  });

  test("anything else decodes to undefined, never throws", () => {
    const z = (s: string) => bytes(deflateSync(s).toString("hex"));
    for (const bad of [
      [],
      [bytes("")],
      [bytes("xyz")],
      [bytes("abc")], // odd length
      [bytes("00ff00ff")], // hex, not zlib
      [z("not json")],
      [z("[1,2]")],
      [z('{"Version":"1"}')], // no service
      [z('{"Service":"s","Endpoints":[null]}')],
    ]) {
      assert.equal(decodeTxt(bad), undefined, JSON.stringify(text(bad)));
    }
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 4 }), (chunks) => {
        decodeTxt(chunks);
      }),
      { numRuns: 500 },
    );
  });

  test("round-trips random payloads", () => {
    const str = fc.string({ maxLength: 20 });
    const dict = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), str, { maxKeys: 4 });
    const value = fc.record({ name: str, type: str });
    fc.assert(
      fc.property(
        fc.record({
          service: fc.string({ minLength: 1, maxLength: 30 }),
          version: str,
          metadata: dict,
          endpoints: fc.array(fc.record({ name: str, metadata: dict, request: value }), { maxLength: 4 }),
        }),
        (txt) => {
          assert.deepEqual(plain(decodeTxt(encodeTxt(txt))), plain(txt));
        },
      ),
      { numRuns: 200 },
    );
  });
});
