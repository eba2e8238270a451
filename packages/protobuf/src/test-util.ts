import assert from "node:assert/strict";
import type { Codec } from "@microts/core";
import { MicroError } from "@microts/core";

/** Test helper: hex of bytes. */
export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

/** Test helper: bytes of a hex string. */
export function unhex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));
}

/** Test helper: text of bytes. */
export function text(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("utf8");
}

/** A codec with its `type` argument fixed, so contract suites (which pass none) see messages. */
export function bound(codec: Codec, type: unknown): Codec {
  return {
    name: codec.name,
    contentType: codec.contentType,
    marshal: (value) => codec.marshal(value, type),
    unmarshal: (data) => codec.unmarshal(data, type),
  };
}

/** Asserts `fn` throws a MicroError with `code`, returning it. */
export function throwsMicro(fn: () => unknown, code: number, detail?: RegExp): MicroError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof MicroError, `expected MicroError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.detail);
  if (detail) assert.match(caught.detail, detail);
  return caught;
}
