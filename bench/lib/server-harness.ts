import { childArgs, fatal, send, serveParent, usage } from "./child.js";
import type { Usage } from "./protocol.js";

/** What a stack's server script gets. */
export interface ServerContext {
  /** Stack options from the orchestrator (e.g. `{ "subscribers": 3 }`). */
  args: Record<string, unknown>;
  /** Counts received pub/sub messages; the harness reports the total to the orchestrator. */
  received(n?: number): void;
}

/** What a stack's server script returns once it serves. */
export interface ServerHandle {
  /** What clients pass to reach it (host:port, a NATS subject, a node id...). */
  address: string;
  /** Extra facts for the client (e.g. registry records), JSON-serialisable. */
  info?: Record<string, unknown>;
  /** CPU and memory of the server when it is not this process (an external binary). */
  usage?(gc: boolean): Promise<Usage>;
  close(): Promise<void>;
}

/** Quiet 5 ms ticks after which the progress timer stops (it starts again with the next message). */
const IDLE_TICKS = 40;

/**
 * Runs a stack's server in this (forked) process: starts it, announces `ready` with its address,
 * reports received-message counts every 5 ms while they change, stops on request. The report
 * timer runs only while messages arrive: an idle server wakes up for nothing, because the
 * request/response stacks wait side by side while another is measured.
 */
export function runServer(start: (ctx: ServerContext) => Promise<ServerHandle>): void {
  let total = 0;
  let reported = 0;
  let quiet = 0;
  let stopped = false;
  let handle: ServerHandle | undefined;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    if (total !== reported) {
      reported = total;
      quiet = 0;
      send({ t: "progress", received: total });
    } else if (++quiet >= IDLE_TICKS) {
      clearInterval(timer);
      timer = undefined;
    }
  };
  serveParent({
    usage: (gc) => (handle?.usage ? handle.usage(gc) : usage(gc)),
    async stop() {
      stopped = true;
      clearInterval(timer);
      await handle?.close();
    },
  });
  start({
    args: childArgs(),
    received(n = 1) {
      total += n;
      if (timer === undefined && !stopped) {
        quiet = 0;
        timer = setInterval(tick, 5);
      }
    },
  }).then(
    (h) => {
      handle = h;
      send({ t: "ready", address: h.address, info: h.info ?? {} });
    },
    (err: unknown) => fatal(err),
  );
}
