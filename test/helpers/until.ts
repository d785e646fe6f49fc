/**
 * Waits on a condition, never on a time: `ok` is asked every 100 ms until it holds, and a
 * test that waits longer than `deadlineMs` fails saying what it waited for.
 */
export async function until(
  what: string,
  ok: () => boolean | Promise<boolean>,
  deadlineMs: number,
): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`not within ${deadlineMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
