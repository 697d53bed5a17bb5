/**
 * A cross-process lock file (O_EXCL create) for SQLite migrations: SQLite's own write lock
 * cannot serialise MikroORM's deferred migration transactions (they fail with BUSY_SNAPSHOT
 * instead of waiting). A lock whose holder process is gone is taken over.
 */
import { closeSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function holderAlive(path: string): boolean {
  try {
    const text = readFileSync(path, 'utf8');
    // Empty: the holder created the file but has not written its pid yet (or died right there).
    if (text === '') return Date.now() - statSync(path).mtimeMs < 5000;
    const pid = Number(text);
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Run `fn` holding the lock file `path` (waits up to `timeoutMs`). */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!holderAlive(path)) {
        // Take a dead holder's lock over by renaming it aside: of two waiters doing this at once,
        // only one rename succeeds, so only one removes it.
        try { renameSync(path, `${path}.stale-${process.pid}`); rmSync(`${path}.stale-${process.pid}`, { force: true }); } catch { /* the other waiter won */ }
      }
      else if (Date.now() > deadline) throw new Error(`could not take the lock file ${path} within ${timeoutMs} ms`);
      else await sleep(25 + Math.random() * 50);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(path, { force: true });
  }
}
