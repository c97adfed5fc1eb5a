/**
 * Polls `probe` until it returns something truthy (and returns that), or fails naming `what` after `ms`.
 * With `retryErrors`, a probe that throws (a server not up yet) is tried again, and the last error is reported.
 * The one waiting loop of the test suites.
 */
export async function until<T>(
  what: string,
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  ms = 20_000,
  everyMs = 100,
  opts: { retryErrors?: boolean } = {},
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      if (!opts.retryErrors) throw err;
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (${ms} ms)${last ? `; last error: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
