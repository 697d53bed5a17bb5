/**
 * `npm start` for real: the dev demo as a child process (tsx runner/dev.ts --quick) on a fresh
 * SQLite file. It must finish on its own with exit code 0, report every execution finished as
 * designed (none lost), show a SIGKILLed replica's executions taken over by the others, and
 * leave no replica process behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');
const LIMIT_MS = 75_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the dev demo (npm start)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'leaseflow-dev-demo-'));
  let child: ChildProcess | undefined;

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null && child.pid) {
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
      await new Promise((r) => setTimeout(r, 3000));
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('finishes on its own: every execution ends as designed, none lost, a killed replica is taken over', async () => {
    const started = Date.now();
    child = spawn(join(root, 'node_modules', '.bin', 'tsx'), ['runner/dev.ts', '--db', `sqlite:${join(dir, 'demo.db')}`, '--create', '--quick', '--logs', join(dir, 'logs')], {
      cwd: root, env: { ...process.env, LEASEFLOW_DB_URL: undefined }, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    const code = await new Promise<number | null>((resolveExit) => {
      const timer = setTimeout(() => {
        if (child?.pid) try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
      }, LIMIT_MS);
      child?.on('exit', (c) => { clearTimeout(timer); resolveExit(c); });
    });
    const context = `exit ${code} after ${Date.now() - started} ms\n--- stdout\n${stdout}\n--- stderr\n${stderr}`;
    expect({ code, context }).toMatchObject({ code: 0 });

    const result = /^RESULT (\w+) executions=(\d+) seen=(\d+) finished=(\d+) lost=(\d+) unexpected=(\d+) orphaned=(\d+) resumed=(\d+) takeover_ms=(-?\d+)$/m.exec(stdout);
    expect(result).not.toBeNull();
    const [, verdict, executions, seen, finished, lost, unexpected, orphaned, resumed, takeoverMs] = result as RegExpExecArray;
    expect({ verdict, lost: Number(lost), unexpected: Number(unexpected) }).toEqual({ verdict: 'ok', lost: 0, unexpected: 0 });
    expect(Number(finished)).toBe(Number(executions));
    expect(Number(seen)).toBe(Number(executions));
    // A takeover happened: the killed replica held leases and every one was resumed elsewhere,
    // no sooner than the lease could expire (TTL 3s, heartbeat every 1s) and well within TTL + slack.
    expect(Number(orphaned)).toBeGreaterThan(0);
    expect(Number(resumed)).toBe(Number(orphaned));
    expect(Number(takeoverMs)).toBeGreaterThanOrEqual(1500);
    expect(Number(takeoverMs)).toBeLessThan(10_000);
    expect(stdout).toMatch(/all as designed, none lost/);
    expect(stdout).toMatch(/killed r\d \(pid \d+\) with SIGKILL while it held \d+/);
    expect(stdout).toMatch(/watchdog presumed r\d dead and released/);
    expect(stdout).toMatch(/stopped gracefully \(SIGTERM\)/);

    // No replica outlives the demo.
    const pids = [...stdout.matchAll(/r\d=\S+ \(pid (\d+)\)/g)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(3);
    await new Promise((r) => setTimeout(r, 200));
    expect(pids.filter(alive)).toEqual([]);
  }, LIMIT_MS + 10_000);
});
