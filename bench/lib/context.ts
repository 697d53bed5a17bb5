/**
 * What every bench section shares: the settings, the bench database URL, a monitoring
 * connection, an engine client (its own pool) to submit work, the mariadbd pid for its CPU,
 * and a progress log on stderr. Plus small waiting helpers.
 */
import type { Client } from '../../engine';
import type { Monitor } from './server';
import type { BenchOptions } from './options';

/** Shared state of one bench run. */
export interface BenchContext {
  opts: BenchOptions;
  url: string;
  monitor: Monitor;
  client: Client;
  /** mariadbd's pid when the server runs on this host, for its CPU time. */
  serverPid: number | null;
  /** Per-runner concurrency: ceil(C / R). */
  perRunner: number;
  /** Progress line on stderr. */
  log(message: string): void;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `check` every `intervalMs` until it returns true; throw naming `what` after `timeoutMs`. */
export async function waitUntil(check: () => Promise<boolean> | boolean, o: { timeoutMs: number; intervalMs?: number; what: string }): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${o.timeoutMs} ms waiting for ${o.what}`);
    await sleep(o.intervalMs ?? 50);
  }
}

/** Run `fn(i)` for i in [0, count) with at most `parallel` in flight. */
export async function forEachParallel(count: number, parallel: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
}
