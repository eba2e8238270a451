import { Code } from "../errors/codes.js";
import { MicroError } from "../errors/micro-error.js";

/**
 * Turns a `Micro-Error` header value into a MicroError. JSON errors keep their id, code and
 * detail. Go servers send framework failures as plain strings (code 0 in Go); those get the code
 * their meaning implies (404 for an unknown service or method, 400 for an undecodable request),
 * else 500, with the string as detail.
 */
export function remoteError(value: string): MicroError {
  const e = MicroError.parse(value);
  if (e.code !== 0) return e;
  const detail = e.detail || value;
  let code: number = Code.InternalServerError;
  if (/^rpc: can't find (service|method)/.test(detail)) code = Code.NotFound;
  else if (/^rpc: (service\/endpoint request ill-formed|router cannot decode request)/.test(detail)) {
    code = Code.BadRequest;
  } else if (/^unsupported Content-Type/i.test(detail)) code = Code.UnsupportedMediaType;
  return new MicroError(e.id || "go.micro.server", detail, code);
}
