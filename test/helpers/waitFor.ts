/**
 * Resolves once `check` holds (it may be async), polling every 20 ms; rejects naming `what` after
 * `ms` (generous: the suite runs on shared 2-core machines, and a time-out only says how long a
 * failing test takes, never whether it passes).
 */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
