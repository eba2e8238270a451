import type { Context } from "../context/context.js";
import { MicroError } from "../errors/micro-error.js";
import { Metadata } from "../metadata/metadata.js";

/**
 * A handler's context, built lazily: metadata and the AbortSignal are created only when the
 * handler touches them (most never do), and the deadline is a number, which the server's one
 * deadline timer checks ({@link RequestContext.expireDeadline}). `expire` ends the request
 * (deadline passed, caller gone, server stopping): it calls `onExpire` and rejects `expired` (a
 * promise made only for those who ask for it).
 */
export class RequestContext implements Context {
  readonly deadline: number | undefined;
  private md: Metadata | undefined;
  private controller: AbortController | undefined;
  private reason: MicroError | undefined;
  private rejectExpired: ((e: MicroError) => void) | undefined;
  private expiredPromise: Promise<never> | undefined;
  /** Called once when the request ends early, with the reason. */
  onExpire: ((reason: MicroError) => void) | undefined;
  /** Where the server's ActiveRequests holds this context; -1 when it does not. */
  activeSlot = -1;
  /** What received the request (its connection), so that its end can end this request too. */
  source: object | undefined;

  constructor(
    readonly service: string,
    readonly endpoint: string,
    private readonly header: Record<string, string>,
    /** The caller's timeout (ms), from which {@link deadline} is set. */
    private readonly timeoutMs: number | undefined,
    readonly remote: string | undefined,
    readonly local: string | undefined,
  ) {
    if (timeoutMs !== undefined) this.deadline = Date.now() + timeoutMs;
  }

  /** Rejects with the reason the request ended early; never resolves. */
  get expired(): Promise<never> {
    if (this.expiredPromise === undefined) {
      const reason = this.reason;
      this.expiredPromise = reason
        ? Promise.reject(reason)
        : new Promise<never>((_, reject) => {
            this.rejectExpired = reject;
          });
      this.expiredPromise.catch(() => {});
    }
    return this.expiredPromise;
  }

  get metadata(): Metadata {
    this.md ??= new Metadata(this.header);
    return this.md;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** True once the request ended early. */
  get done(): boolean {
    return this.reason !== undefined;
  }

  /** Ends the request early: the signal fires and `expired` rejects with `reason`. */
  expire(reason: MicroError): void {
    if (this.reason) return;
    this.reason = reason;
    this.controller?.abort(reason);
    this.rejectExpired?.(reason);
    this.onExpire?.(reason);
  }

  /** Ends the request with a 408: its deadline passed. */
  expireDeadline(): void {
    this.expire(
      MicroError.timeout(
        "go.micro.server",
        `${this.endpoint}: deadline of ${Math.round(this.timeoutMs ?? 0)}ms exceeded`,
      ),
    );
  }
}
