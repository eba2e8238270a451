import type { Codec } from "../codec/codec.js";
import { MicroError } from "../errors/micro-error.js";
import { EOS, getHeader, Header } from "../rpc/headers.js";
import { remoteError } from "../rpc/remote-error.js";
import type { Message } from "../transport/transport.js";
import { tagPhase } from "./phase.js";

const ID = "go.micro.client";

/**
 * The result of a unary call from its reply: the handler's error (`Micro-Error`) thrown as the
 * remote's error, or the body decoded with `codec`. Errors are tagged phase `response`: the request
 * was delivered.
 */
export function readReply(reply: Message, codec: Codec, responseType: unknown): unknown {
  const errText = reply.header[Header.Error] ?? getHeader(reply.header, Header.Error);
  if (errText !== undefined && errText !== "") {
    throw tagPhase(
      errText === EOS ? MicroError.internalServerError(ID, "unexpected end of stream") : remoteError(errText),
      "response",
    );
  }
  try {
    return codec.unmarshal(reply.body, responseType);
  } catch (err) {
    throw tagPhase(MicroError.from(err, "go.micro.client.codec"), "response");
  }
}
