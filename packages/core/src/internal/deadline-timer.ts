/**
 * One timer for the deadlines of many items (calls, requests), instead of a timer per item.
 *
 * The timer is armed for the earliest deadline it was told of. When it fires it calls `sweep`,
 * which ends the items that are due and returns the earliest deadline still pending (or
 * `+Infinity`); the timer is then armed for that one. An item that finishes early needs no
 * clean-up: the next sweep no longer finds it. Items that share a timeout, as the calls of one
 * client mostly do, cost one wake-up per timeout instead of one timer each, and allocate nothing.
 */
export class DeadlineTimer {
  private timer: NodeJS.Timeout | undefined;
  /** When {@link timer} fires (epoch ms); +Infinity when unarmed. */
  private at = Number.POSITIVE_INFINITY;
  private keepAlive = true;

  constructor(
    /** Ends the items due at `now` (epoch ms); returns the next deadline, or +Infinity for none. */
    private readonly sweep: (now: number) => number,
  ) {}

  /** An item with `deadline` (epoch ms) is pending. A deadline of +Infinity is ignored. */
  add(deadline: number): void {
    if (deadline < this.at) this.arm(deadline);
  }

  /**
   * Whether the armed timer keeps the process alive (default true). Owners turn it off while
   * nothing is pending, so that a late no-op wake-up never holds the process open.
   */
  keepProcessAlive(on: boolean): void {
    if (this.keepAlive === on) return;
    this.keepAlive = on;
    if (on) this.timer?.ref();
    else this.timer?.unref();
  }

  /** Disarms the timer (the owner closed). `add` arms it again. */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.at = Number.POSITIVE_INFINITY;
  }

  /** The timer fired. */
  fire(): void {
    this.timer = undefined;
    this.at = Number.POSITIVE_INFINITY;
    const next = this.sweep(Date.now());
    // A sweep may have added deadlines (armed the timer again) itself.
    if (next < this.at) this.arm(next);
  }

  private arm(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.at = at;
    this.timer = setTimeout(fireTimer, Math.max(0, at - Date.now()), this);
    if (!this.keepAlive) this.timer.unref();
  }
}

function fireTimer(t: DeadlineTimer): void {
  t.fire();
}
