// Waiting for something real to happen (a process's output, a background job, a child's exit): polling with a
// deadline, never a fixed sleep.
import { setTimeout as pause } from 'node:timers/promises';

/** Polls `fn` until it gives a truthy value, every `everyMs`, failing after `timeoutMs`. */
export async function until<T>(
  what: string,
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  opts: { timeoutMs?: number; everyMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await pause(opts.everyMs ?? 25);
  }
}

/** Polls an asynchronous request's status (as Terraform does) until it leaves IN_PROGRESS. */
export async function settle<S extends { Status?: string }>(read: () => Promise<S>): Promise<S>;
export async function settle<S extends { Status?: string }>(read: () => Promise<S | undefined>): Promise<S | undefined>;
export async function settle<S extends { Status?: string }>(read: () => Promise<S | undefined>): Promise<S | undefined> {
  let last: S | undefined;
  await until(
    'the request to complete',
    async () => {
      last = await read();
      return last?.Status !== 'IN_PROGRESS';
    },
    { everyMs: 20 },
  );
  return last;
}
