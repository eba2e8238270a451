import { after, describe, test } from "node:test";

/**
 * Tests of a contract suite that an implementation cannot run, with the reason. Names must match
 * the suite's test names exactly; an unknown name fails the suite, so a renamed test cannot be
 * skipped silently.
 */
export interface SkipRule {
  /** Why the backend cannot pass these tests (shown in the test report). */
  reason: string;
  /** Exact test names, as printed by the suite. */
  tests: string[];
}

/** What a contract test receives: a place to register cleanup, run after the test in reverse order. */
export interface TestScope {
  /** Runs `fn` after the test, pass or fail (last registered runs first; each bounded to 5 s). */
  defer(fn: () => unknown): void;
}

/** One test of a contract suite. */
export interface ContractCase {
  name: string;
  /** Upper bound for the whole test, in milliseconds. Default 10 000. */
  timeoutMs?: number;
  /** When set, the test is skipped for this reason (a capability the implementation lacks). */
  unsupported?: string | undefined;
  run(scope: TestScope): Promise<void>;
}

const CLEANUP_MS = 5_000;

/**
 * Declares `cases` as a node:test `describe` block. Skipped tests are reported as skipped with
 * their reason; `cleanup` runs once after the whole block.
 */
export function defineSuite(
  title: string,
  cases: ContractCase[],
  skip: readonly SkipRule[] = [],
  cleanup?: () => unknown,
): void {
  describe(title, () => {
    const names = new Set(cases.map((c) => c.name));
    const reasons = new Map<string, string>();
    const unknown: string[] = [];
    for (const rule of skip) {
      for (const name of rule.tests) {
        if (names.has(name)) reasons.set(name, rule.reason || "no reason given");
        else unknown.push(name);
      }
    }
    test("skip list names only existing tests", () => {
      if (unknown.length > 0) {
        throw new Error(`skip names unknown tests: ${unknown.map((n) => JSON.stringify(n)).join(", ")}`);
      }
    });
    for (const c of cases) {
      const reason = reasons.get(c.name) ?? c.unsupported;
      test(c.name, { skip: reason ?? false, timeout: c.timeoutMs ?? 10_000 }, async () => {
        const deferred: Array<() => unknown> = [];
        try {
          await c.run({ defer: (fn) => deferred.push(fn) });
        } finally {
          for (const fn of deferred.reverse()) await boundedCleanup(fn);
        }
      });
    }
    if (cleanup) after(async () => void (await cleanup()));
  });
}

async function boundedCleanup(fn: () => unknown): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(fn),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CLEANUP_MS);
      }),
    ]);
  } catch {
    // Cleanup failures must not hide the test's own result; the test itself asserts behaviour.
  } finally {
    clearTimeout(timer);
  }
}
