/**
 * Error codes carried in `MicroError.code`. They are HTTP status codes, as in Go Micro's `errors`
 * package, so a Go peer and a TypeScript peer read the same number.
 */
export const Code = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  Timeout: 408,
  Conflict: 409,
  Gone: 410,
  PreconditionFailed: 412,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  TooManyRequests: 429,
  /** The caller cancelled the call (its AbortSignal fired). Not sent by Go Micro itself. */
  Canceled: 499,
  InternalServerError: 500,
  NotImplemented: 501,
  BadGateway: 502,
  ServiceUnavailable: 503,
  GatewayTimeout: 504,
} as const;

/** One of the known codes; `MicroError.code` may still hold any integer a peer sent. */
export type Code = (typeof Code)[keyof typeof Code];

const statusText: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  412: "Precondition Failed",
  413: "Request Entity Too Large",
  415: "Unsupported Media Type",
  429: "Too Many Requests",
  499: "Client Closed Request",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** The status text Go's `http.StatusText` gives for a code ("" for unknown codes). */
export function statusOf(code: number): string {
  return statusText[code] ?? "";
}
