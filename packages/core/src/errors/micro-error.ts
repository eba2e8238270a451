import { goJson } from "../internal/go-json.js";
import { Code, statusOf } from "./codes.js";

/** The JSON shape of an error on the wire, exactly Go Micro's `errors.Error` (omitempty fields). */
export interface MicroErrorJson {
  id?: string;
  code?: number;
  detail?: string;
  status?: string;
}

/** Options for constructing a MicroError. */
export interface MicroErrorOptions {
  /** The underlying error, kept for logs and `error.cause`; never sent on the wire. */
  cause?: unknown;
  /** Status text; defaults to the standard text for `code` (Go's `http.StatusText`). */
  status?: string;
}

/**
 * The one error type of micro-ts, on the wire and in process: `{id, code, detail, status}` as in Go
 * Micro's `errors` package. `id` names who raised it (a service name, or `go.micro.client`, ...),
 * `code` is an HTTP-style status (see {@link Code}), `detail` is the human-readable message.
 *
 * A handler that throws a MicroError reaches its caller with id, code and detail intact; any other
 * thrown value becomes a 500 whose detail is its message. `toString()` is the wire form: the
 * same JSON bytes Go's `(*errors.Error).Error()` produces.
 */
export class MicroError extends Error {
  override readonly name = "MicroError";
  readonly id: string;
  readonly code: number;
  readonly detail: string;
  readonly status: string;

  constructor(id: string, detail: string, code: number, options: MicroErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.id = id;
    this.code = code;
    this.detail = detail;
    this.status = options.status ?? statusOf(code);
  }

  /** 400: the request is malformed (bad arguments, undecodable body). */
  static badRequest(id: string, detail: string, options?: MicroErrorOptions): MicroError {
    return new MicroError(id, detail, Code.BadRequest, options);
  }
  /** 401: the caller is not authenticated. */
  static unauthorized(id: string, detail: string, options?: MicroErrorOptions): MicroError {
    return new MicroError(id, detail, Code.Unauthorized, options);
  }
  /** 403: the caller may not do this. */
  static forbidden(id: string, detail: string, options?: MicroErrorOptions): MicroError {
    return new MicroError(id, detail, Code.Forbidden, options);
  }
  /** 404: the thing asked for does not exist. */
  static notFound(id: string, detail: string, options?: MicroErrorOptions): MicroError {
    return new MicroError(id, detail, Code.NotFound, options);
  }
  /** 405: the method is not allowed. */
  static methodNotAllowed(id: string, detail: string, options?: MicroErrorOptions): MicroError {
    return new MicroError(id, detail, Code.MethodNotAllowed, options);
  }
  /** 408: a deadline passed. */
  static timeout(id: string, detail: string, options?: MicroErrorOptions): MicroError {
    return new MicroError(id, detail, Code.Timeout, options);
  }
  /** 409: the request conflicts with the current state. */
  static conflict(id: string, detail: string, options?: MicroErrorOptions): MicroError {
    return new MicroError(id, detail, Code.Conflict, options);
  }
  /** 429: too many requests; the caller should slow down. */
  static tooManyRequests(id: string, detail: string, options?: MicroErrorOptions): MicroError {
    return new MicroError(id, detail, Code.TooManyRequests, options);
  }
  /** 499: the caller cancelled the call. */
  static canceled(id: string, detail: string, options?: MicroErrorOptions): MicroError {
    return new MicroError(id, detail, Code.Canceled, options);
  }
  /** 500: an unexpected failure. */
  static internalServerError(id: string, detail: string, options?: MicroErrorOptions): MicroError {
    return new MicroError(id, detail, Code.InternalServerError, options);
  }
  /** 501: not implemented. */
  static notImplemented(id: string, detail: string, options?: MicroErrorOptions): MicroError {
    return new MicroError(id, detail, Code.NotImplemented, options);
  }
  /** 503: the service cannot take the request now (draining, overloaded, unreachable). */
  static serviceUnavailable(id: string, detail: string, options?: MicroErrorOptions): MicroError {
    return new MicroError(id, detail, Code.ServiceUnavailable, options);
  }

  /**
   * Parses the wire form (Go's `errors.Parse`): JSON `{id,code,detail,status}`; a string that is
   * not such JSON becomes `{code: 0, detail: text}`, exactly as Go does.
   */
  static parse(text: string): MicroError {
    try {
      const v: unknown = JSON.parse(text);
      if (v !== null && typeof v === "object" && !Array.isArray(v)) {
        const o = v as Record<string, unknown>;
        return new MicroError(
          typeof o.id === "string" ? o.id : "",
          typeof o.detail === "string" ? o.detail : "",
          typeof o.code === "number" ? o.code : 0,
          { status: typeof o.status === "string" ? o.status : "" },
        );
      }
    } catch {
      // not JSON: a plain-string error, as Go servers send for framework failures
    }
    return new MicroError("", text, 0, { status: "" });
  }

  /**
   * Converts any thrown value to a MicroError: a MicroError is returned as is; an Error becomes a
   * 500 whose detail is its message (the original kept as `cause`); anything else is stringified.
   */
  static from(value: unknown, id = "go.micro.server", code: number = Code.InternalServerError): MicroError {
    if (value instanceof MicroError) return value;
    if (value instanceof Error) return new MicroError(id, value.message, code, { cause: value });
    return new MicroError(id, String(value), code, { cause: value });
  }

  /** The wire JSON object, with Go's omitempty rules (empty id/detail/status and code 0 omitted). */
  toJSON(): MicroErrorJson {
    const out: MicroErrorJson = {};
    if (this.id) out.id = this.id;
    if (this.code) out.code = this.code;
    if (this.detail) out.detail = this.detail;
    if (this.status) out.status = this.status;
    return out;
  }

  /** The wire form: the same bytes as Go's `(*errors.Error).Error()`. */
  override toString(): string {
    return goJson(this.toJSON());
  }
}

/** True when `value` is a MicroError with the given code (or any MicroError without a code). */
export function isMicroError(value: unknown, code?: number): value is MicroError {
  return value instanceof MicroError && (code === undefined || value.code === code);
}
