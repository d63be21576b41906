// Waiting on a child server's output or on a condition, bounded in time.

/** The first match of `re` in the output so far; throws with the whole output after `ms`. */
export async function waitForLine(output: () => string, re: RegExp, ms: number): Promise<RegExpMatchArray> {
  const end = Date.now() + ms;
  for (;;) {
    const m = output().match(re);
    if (m) return m;
    if (Date.now() > end) throw new Error(`no line matching ${re} in:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `f()` until it returns something, for at most `ms`; undefined if it never does. */
export async function poll<T>(f: () => Promise<T | undefined>, ms = 10_000): Promise<T | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}
