import { deflateSync, inflateSync } from "node:zlib";
import type { Endpoint, ServiceRecord } from "@microts/core";
import { serviceFromGo, serviceToGo } from "@microts/core";
import { goJson } from "@microts/core/internal";

/**
 * What Go Micro's mDNS registry puts in a node's TXT record (`mdnsTxt`, no json tags, so the keys
 * are capitalised): the node's metadata and its service's name, version and endpoints. Service
 * level metadata is not carried.
 */
export interface NodeTxt {
  service: string;
  version: string;
  endpoints: Endpoint[];
  metadata: Record<string, string>;
}

const latin1 = new TextDecoder("latin1");
/** Longest TXT character-string. */
const CHUNK = 255;
/** Inflated TXT payloads larger than this are refused (a zlib bomb cannot exhaust memory). */
const MAX_INFLATED = 4 * 1024 * 1024;

/**
 * Go's `encode`: `{"Metadata":…,"Service":…,"Version":…,"Endpoints":…}` as `encoding/json` writes
 * it, zlib-compressed, lowercase hex, cut into consecutive 255-character strings (all of them go
 * into ONE TXT record).
 */
export function encodeTxt(txt: NodeTxt): Uint8Array[] {
  const goService = serviceToGo({
    name: txt.service,
    version: txt.version,
    endpoints: txt.endpoints,
    nodes: [],
  });
  const endpoints = Array.isArray(goService.endpoints)
    ? goService.endpoints.map((e: Record<string, unknown>) => ({ ...e, metadata: sorted(e.metadata) }))
    : null;
  const json = goJson({
    Metadata: sorted(txt.metadata),
    Service: txt.service,
    Version: txt.version,
    Endpoints: endpoints,
  });
  const hex = deflateSync(Buffer.from(json, "utf8")).toString("hex");
  const out: Uint8Array[] = [];
  for (let i = 0; i < hex.length; i += CHUNK) out.push(Buffer.from(hex.slice(i, i + CHUNK), "latin1"));
  return out.length ? out : [new Uint8Array(0)];
}

/** A copy of a string map with its keys sorted, as `encoding/json` writes maps; null stays null. */
function sorted(map: unknown): Record<string, unknown> | null {
  if (map === null || typeof map !== "object") return null;
  const entries = Object.entries(map as Record<string, unknown>);
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Go's `decode`: joins the strings, hex-decodes, inflates (any zlib stream) and parses the JSON.
 * Key names are matched case-insensitively, as Go's `encoding/json` does. Returns `undefined` for
 * anything that is not such a payload.
 */
export function decodeTxt(strings: readonly Uint8Array[]): NodeTxt | undefined {
  const hex = strings.map((s) => latin1.decode(s)).join("");
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) return undefined;
  let parsed: unknown;
  try {
    const json = inflateSync(Buffer.from(hex, "hex"), { maxOutputLength: MAX_INFLATED });
    parsed = JSON.parse(json.toString("utf8"));
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return undefined;
  const fields = new Map<string, unknown>();
  for (const [k, v] of Object.entries(parsed)) fields.set(k.toLowerCase(), v);
  const service = fields.get("service");
  const version = fields.get("version");
  if (typeof service !== "string") return undefined;
  // Reuse core's Go-record reader for the endpoint and metadata shapes (tolerates nulls).
  let record: ServiceRecord;
  try {
    record = serviceFromGo({
      name: service,
      version: typeof version === "string" ? version : "",
      endpoints: fields.get("endpoints"),
      nodes: [{ id: "x", address: "", metadata: fields.get("metadata") }],
    });
  } catch {
    return undefined; // e.g. a null inside the endpoint list
  }
  return {
    service,
    version: record.version,
    endpoints: record.endpoints,
    metadata: record.nodes[0]?.metadata ?? {},
  };
}
