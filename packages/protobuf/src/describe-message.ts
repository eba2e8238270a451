import {
  type DescEnum,
  type DescField,
  type DescMessage,
  type DescOneof,
  ScalarType,
} from "@bufbuild/protobuf";
import type { Value } from "@microts/core";

/**
 * The registry description of a message, as Go Micro's `extractValue` describes the Go struct
 * protoc-gen-go generates for it: `name` and `type` are the Go type name (`HelloRequest`,
 * nested `Outer_Inner`), `values` the fields under their JSON tag (the proto field name), with Go
 * type names: `string`, `int64`, `uint32`, `float64`, `bool`, `[]uint8` (bytes), `[]string`
 * (repeated), `Outer_Inner` (message, with its own fields), `Outer_Status` (enum), `""` (map),
 * `isOuter_Kind` (a oneof, under its Go field name). Depth is capped at 3 levels, as in Go: the
 * fields of a message nested two levels down are not listed.
 */
export function describeMessage(desc: DescMessage): Value {
  return extract(desc, 0) as Value;
}

function extract(desc: DescMessage, depth: number): Value | undefined {
  if (depth === 3) return undefined;
  const name = goTypeName(desc);
  const values: Value[] = [];
  for (const member of desc.members) {
    const v = member.kind === "oneof" ? oneofValue(desc, member) : fieldValue(member, depth + 1);
    if (v) values.push(v);
  }
  return values.length > 0 ? { name, type: name, values } : { name, type: name };
}

function oneofValue(parent: DescMessage, oneof: DescOneof): Value | undefined {
  const field = goCamelCase(oneof.name);
  return { name: field, type: `is${goTypeName(parent)}_${field}` };
}

function fieldValue(field: DescField, depth: number): Value | undefined {
  if (depth === 3) return undefined;
  switch (field.fieldKind) {
    case "scalar":
      return { name: field.name, type: goScalar(field.scalar) };
    case "enum":
      return { name: field.name, type: goTypeName(field.enum) };
    case "message": {
      const inner = extract(field.message, depth);
      return inner ? { ...inner, name: field.name } : undefined;
    }
    case "list": {
      const elem =
        field.listKind === "scalar"
          ? // A repeated bytes field is [][]byte; reflect names the unnamed []byte "".
            field.scalar === ScalarType.BYTES
            ? ""
            : goScalar(field.scalar)
          : goTypeName(field.listKind === "enum" ? field.enum : field.message);
      return { name: field.name, type: `[]${elem}` };
    }
    case "map":
      // A Go map type has no name, so extractValue reports an empty type.
      return { name: field.name, type: "" };
  }
}

function goScalar(t: ScalarType): string {
  switch (t) {
    case ScalarType.DOUBLE:
      return "float64";
    case ScalarType.FLOAT:
      return "float32";
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return "int64";
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return "uint64";
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return "int32";
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return "uint32";
    case ScalarType.BOOL:
      return "bool";
    case ScalarType.STRING:
      return "string";
    case ScalarType.BYTES:
      return "[]uint8";
  }
}

/** protoc-gen-go's Go identifier of a message or enum: the name below the package, camel-cased. */
export function goTypeName(desc: DescMessage | DescEnum): string {
  const pkg = desc.file.proto.package;
  const local =
    pkg && desc.typeName.startsWith(`${pkg}.`) ? desc.typeName.slice(pkg.length + 1) : desc.typeName;
  return goCamelCase(local);
}

/** protobuf-go's `strs.GoCamelCase`. */
export function goCamelCase(s: string): string {
  let out = "";
  const lower = (c: string | undefined) => c !== undefined && c >= "a" && c <= "z";
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === "." && lower(s[i + 1])) {
      // Skip '.' in ".{lowercase}".
    } else if (c === ".") {
      out += "_";
    } else if (c === "_" && (i === 0 || s[i - 1] === ".")) {
      out += "X";
    } else if (c === "_" && lower(s[i + 1])) {
      // Skip '_' in "_{lowercase}".
    } else if (c >= "0" && c <= "9") {
      out += c;
    } else {
      out += lower(c) ? c.toUpperCase() : c;
      while (lower(s[i + 1])) {
        out += s[i + 1];
        i++;
      }
    }
  }
  return out;
}
