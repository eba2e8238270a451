import { MicroError } from "@microts/core";
import { unb64 } from "./keys.js";

const ID = "go.micro.registry";

/** The response header etcd sends with every answer. */
export interface ResponseHeader {
  revision: number;
  clusterId: string;
  raftTerm: number;
}

/** A key-value pair, decoded. */
export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  /** Lease id (decimal string), "" without lease. */
  lease: string;
}

/** A raw JSON object from the gateway. */
export type Json = Record<string, unknown>;

/**
 * Maps an etcd gRPC status code to a MicroError: InvalidArgument/OutOfRange → 400, NotFound → 404,
 * DeadlineExceeded → 408, PermissionDenied → 403, Unauthenticated → 401, Unavailable,
 * ResourceExhausted, Aborted → 503, anything else → 500.
 */
export function grpcError(code: number, detail: string): MicroError {
  switch (code) {
    case 3:
    case 11:
      return MicroError.badRequest(ID, detail);
    case 4:
      return MicroError.timeout(ID, detail);
    case 5:
      return MicroError.notFound(ID, detail);
    case 7:
      return MicroError.forbidden(ID, detail);
    case 16:
      return MicroError.unauthorized(ID, detail);
    case 8:
    case 10:
    case 14:
      return MicroError.serviceUnavailable(ID, detail);
    default:
      return MicroError.internalServerError(ID, detail);
  }
}

/** Decodes a gateway response header (int64 fields are decimal strings). */
export function decodeHeader(raw: unknown): ResponseHeader {
  const h = (raw ?? {}) as Json;
  return {
    revision: Number(h.revision ?? 0),
    clusterId: String(h.cluster_id ?? ""),
    raftTerm: Number(h.raft_term ?? 0),
  };
}

/** Decodes a gateway `mvccpb.KeyValue` (missing fields are proto3 zero values). */
export function decodeKv(raw: Json): KeyValue {
  return {
    key: unb64(raw.key as string | undefined),
    value: unb64(raw.value as string | undefined),
    createRevision: Number(raw.create_revision ?? 0),
    modRevision: Number(raw.mod_revision ?? 0),
    lease: raw.lease === undefined ? "" : String(raw.lease),
  };
}
