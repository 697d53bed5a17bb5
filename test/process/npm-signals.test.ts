/**
 * The process edge as documented: `npm run leaseflow -- runner` (and `npm start`, the same
 * `exec node …` script shape) puts the runner itself where npm forwards signals, so SIGTERM sent
 * to the npm process drains the runner, which exits 0 — no orphaned runner. Without `exec`, sh
 * sits between npm and node and the runner would be left running (checked by hand: that is why
 * the scripts start with exec). SQLite only: the dialect plays no part here.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freshDbUrl } from '../helpers/db';
import { waitFor } from '../helpers/processes';
import { openDatabase } from '../../engine';

const root = resolve(__dirname, '..', '..');

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

describe('signals through npm scripts', () => {
  test('npm start and npm run leaseflow exec node directly (no shell or tsx wrapper in between)', () => {
    const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.start).toMatch(/^exec node --import tsx runner\/dev\.ts$/);
    expect(scripts.leaseflow).toMatch(/^exec node --import tsx runner\/cli\.ts$/);
  });

  test('SIGTERM to the npm process drains the runner, which exits 0 and leaves no process behind', async () => {
    const url = await freshDbUrl('sqlite', 'npm-signals');
    const setup = await openDatabase(url);
    await setup.migrate();
    let out = '';
    const npm = spawn('npm', ['run', '-s', 'leaseflow', '--', 'runner', '--db', url, '--workflows', 'workflows', '--poll-interval', '100ms'], {
      cwd: root, env: { ...process.env, LEASEFLOW_DB_URL: undefined }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    npm.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    npm.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number | null>((r) => npm.on('exit', (code) => r(code)));
    try {
      await waitFor(() => out.includes('"msg":"runner started"'), { timeoutMs: 60_000, what: `the runner to start\n${out}` });
      const [row] = await setup.sql.all<{ pid: unknown }>('SELECT pid FROM workflow_runners');
      const runnerPid = Number(row.pid);
      expect(runnerPid).not.toBe(npm.pid);
      npm.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toMatch(/"msg":"runner stopped"/);
      await waitFor(() => !alive(runnerPid), { timeoutMs: 10_000, what: 'the runner process to be gone' });
      const [after] = await setup.sql.all<{ status: unknown }>('SELECT status FROM workflow_runners');
      expect(after.status).toBe('stopped');
    } finally {
      if (npm.exitCode === null) npm.kill('SIGKILL');
      await setup.close();
    }
  }, 90_000);
});
