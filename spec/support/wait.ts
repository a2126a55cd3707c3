export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll until `predicate` holds, failing with `what` after `timeoutMs`: no fixed sleeps in tests. */
export async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 3000, everyMs = 3): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}
