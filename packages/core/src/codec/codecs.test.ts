import assert from "node:assert/strict";
import { test } from "node:test";
import { codecContract } from "@microts/testing";
import { createBytesCodec } from "./bytes-codec.js";
import { createJsonCodec } from "./json-codec.js";

codecContract("json", {
  codec: createJsonCodec(),
  samples: [
    { name: "Alice" },
    { greeting: "héllo wörld ✓ 世界 🚀", escaped: "<script>a && b</script>", quote: '"\\' },
    { nested: { deeper: { list: [1, 2, { x: null }] } }, empty: {}, none: [] },
    [1, "two", true, null, { three: 3 }],
    { int: 42, negative: -7, float: 3.25, big: 9007199254740991, tiny: 1e-7 },
    { yes: true, no: false, nothing: null },
    "a string with <>& and \u2028 line separators",
    12.5,
    true,
    null,
  ],
  invalid: [new TextEncoder().encode("{"), Uint8Array.of(0xff, 0xfe), new TextEncoder().encode('{"a":}')],
  zero: {},
});

codecContract("bytes", {
  codec: createBytesCodec(),
  samples: [
    new Uint8Array(0),
    Uint8Array.of(0),
    Uint8Array.of(0xff, 0xfe, 0x00, 0x80),
    new Uint8Array(4096).fill(7),
  ],
  zero: new Uint8Array(0),
});

test("json codec writes Go's encoding/json bytes: compact, trailing newline", () => {
  const bytes = createJsonCodec().marshal({ name: "Alice" });
  assert.equal(Buffer.from(bytes).toString("utf8"), '{"name":"Alice"}\n');
});

test("json codec escapes < > & as Go does when asked, and reads both forms alike", () => {
  const go = createJsonCodec({ escapeHtml: true });
  assert.equal(Buffer.from(go.marshal("a<b")).toString("utf8"), '"a\\u003cb"\n');
  assert.equal(Buffer.from(go.marshal({ h: "x>y&z" })).toString("utf8"), '{"h":"x\\u003ey\\u0026z"}\n');
  const plain = createJsonCodec();
  assert.equal(Buffer.from(plain.marshal({ h: "x>y&z" })).toString("utf8"), '{"h":"x>y&z"}\n');
  assert.deepEqual(plain.unmarshal(go.marshal({ h: "x>y&z" })), { h: "x>y&z" });
});
