import assert from "node:assert/strict";
import type { Codec } from "@microts/core";
import type { SkipRule } from "./internal/suite.js";
import { defineSuite } from "./internal/suite.js";
import { assertMicroError } from "./internal/wait.js";

/** Options for {@link codecContract}. */
export interface CodecContractOptions {
  /** The codec under test. */
  codec: Codec;
  /** Values that must survive `unmarshal(marshal(v))` deep-equal. At least one. */
  samples: unknown[];
  /** Byte strings that are not a valid encoding: `unmarshal` must throw MicroError 400. Default none. */
  invalid?: Uint8Array[];
  /**
   * What an empty body must decode to (`{}` for JSON, an empty Uint8Array for bytes). Default:
   * only require that decoding an empty body does not throw and returns something defined.
   */
  zero?: unknown;
  /** Tests this codec cannot pass, with the reason. Default none. */
  skip?: SkipRule[];
}

function describeBytes(b: Uint8Array): string {
  const hex = Buffer.from(b.subarray(0, 16)).toString("hex");
  return `${b.byteLength} bytes [${hex}${b.byteLength > 16 ? "…" : ""}]`;
}

/**
 * The behaviour every {@link Codec} must show, as a node:test `describe` block named
 * `codec contract: <name>`: a name and content type; every sample round-trips deep-equal;
 * `marshal` returns a Uint8Array; an empty body decodes to the zero value without throwing;
 * every invalid input makes `unmarshal` throw MicroError 400 (never another error type).
 */
export function codecContract(name: string, options: CodecContractOptions): void {
  const { codec, samples } = options;
  const invalid = options.invalid ?? [];
  defineSuite(
    `codec contract: ${name}`,
    [
      {
        name: "has a name and a content type",
        run: async () => {
          assert.ok(codec.name.length > 0, "name");
          assert.match(codec.contentType, /^[\w.+-]+\/[\w.+-]+/, "contentType is a media type");
        },
      },
      {
        name: "every sample round-trips",
        run: async () => {
          assert.ok(samples.length > 0, "at least one sample");
          for (const [i, sample] of samples.entries()) {
            const bytes = codec.marshal(sample);
            assert.deepEqual(codec.unmarshal(bytes), sample, `sample ${i} (${describeBytes(bytes)})`);
          }
        },
      },
      {
        name: "marshal returns a Uint8Array",
        run: async () => {
          for (const [i, sample] of samples.entries()) {
            assert.ok(codec.marshal(sample) instanceof Uint8Array, `sample ${i}`);
          }
        },
      },
      {
        name: "an empty body unmarshals to the zero value",
        run: async () => {
          const value = codec.unmarshal(new Uint8Array(0));
          if ("zero" in options) assert.deepEqual(value, options.zero);
          else assert.notEqual(value, undefined, "an empty body decodes to a defined zero value");
        },
      },
      {
        name: "invalid input throws MicroError 400",
        unsupported:
          invalid.length === 0 ? "no invalid inputs given (the codec accepts any bytes)" : undefined,
        run: async () => {
          for (const bytes of invalid) {
            let outcome: { threw: true; error: unknown } | { threw: false; value: unknown };
            try {
              outcome = { threw: false, value: codec.unmarshal(bytes) };
            } catch (error) {
              outcome = { threw: true, error };
            }
            if (!outcome.threw) {
              assert.fail(
                `${describeBytes(bytes)} decoded to ${String(outcome.value)}, expected MicroError 400`,
              );
            }
            assertMicroError(outcome.error, 400, `unmarshal of ${describeBytes(bytes)}`);
          }
        },
      },
    ],
    options.skip,
  );
}
