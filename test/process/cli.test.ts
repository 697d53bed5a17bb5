/**
 * The `leaseflow` command line as real child processes (bin/leaseflow.js, the installed `leaseflow` binary,
 * and `tsx runner/cli.ts runner …` for the long-running replicas) against a fresh
 * store per dialect: migrate, runner replicas, start/list/show/signal/cancel, locks, runners;
 * and every mistake (bad command, bad JSON, unknown id, unmigrated store…) is ONE clear line on
 * stderr with a non-zero exit code (2 for usage errors, 1 otherwise).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freshDbUrl, testDialects } from '../helpers/db';
import { createClient, DistributedLockManager, openDatabase, type Client, type Database, type ExecutionStatus } from '../../engine';

const root = resolve(__dirname, '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');

interface Run { code: number | null; stdout: string; stderr: string }

/**
 * Run the CLI once, bounded by `timeoutMs`, through bin/leaseflow.js: the `leaseflow` binary
 * (it runs runner/cli.ts under tsx), so the shim's argv, stdio and exit code are tested too.
 */
function cli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 90_000, stdin?: string): Promise<Run> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'leaseflow.js'), ...args], {
      cwd: root, env: { ...process.env, LEASEFLOW_DB_URL: undefined, ...env }, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => { clearTimeout(timer); resolveRun({ code, stdout, stderr }); });
  });
}

/** The one-line error contract. */
function expectOneLineError(r: Run, code: number, pattern: RegExp): void {
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code, stdout: '' });
  expect(r.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^leaseflow: \S/)]);
  expect(r.stderr).toMatch(pattern);
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const kind of testDialects()) {
  describe(`leaseflow command line [${kind}]`, () => {
    let url: string;
    let db: Database;
    let client: Client;
    let runner: ChildProcess | undefined;
    let runnerOut = '';
    const replicas = kind === 'sqlite' ? 2 : 1;
    const statusOf = async (id: string): Promise<ExecutionStatus> => (await client.getHandle(id).describe()).status;

    beforeAll(async () => {
      url = await freshDbUrl(kind, 'cli');
    });

    afterAll(async () => {
      if (runner?.pid && runner.exitCode === null && runner.signalCode === null) {
        try { process.kill(-runner.pid, 'SIGTERM'); } catch { /* gone */ }
        await new Promise((r) => setTimeout(r, 3000));
        try { process.kill(-runner.pid, 'SIGKILL'); } catch { /* gone */ }
      }
      await client?.close();
      await db?.close();
    });

    test('an unmigrated store is refused with a hint; migrate applies, then reports up to date', async () => {
      expectOneLineError(await cli(['list', '--db', url]), 5, /is not migrated .*run `leaseflow migrate` first/);
      const first = await cli(['migrate', '--db', url]);
      expect(first).toMatchObject({ code: 0, stderr: '' });
      expect(first.stdout).toMatch(/^applied \d+ migrations? to .*: Migration\d+_initial(, Migration\d+_\w+)*\n$/);
      const again = await cli(['migrate'], { LEASEFLOW_DB_URL: url }); // the URL from the environment
      expect(again.stdout).toMatch(/ is up to date\n$/);
      db = await openDatabase(url);
      client = await createClient({ db });
    }, 240_000);

    test('runner replicas start, serve the example workflows and show up in `runners`', async () => {
      runner = spawn(tsx, ['runner/cli.ts', 'runner', '--db', url, '--replicas', String(replicas), '--workflows', 'workflows',
        '--lease-ttl', '3s', '--poll-interval', '100ms', '--concurrency', '4'], {
        cwd: root, env: { ...process.env, LEASEFLOW_DB_URL: undefined }, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
      });
      runner.stdout?.on('data', (d: Buffer) => { runnerOut += d.toString(); });
      runner.stderr?.on('data', (d: Buffer) => { runnerOut += d.toString(); });
      await until('the runners to start', async () => (runnerOut.match(/"msg":"runner started"/g) ?? []).length === replicas, 30_000);
      if (replicas > 1) expect(runnerOut).toMatch(/^\[2\] \{/m); // output prefixed with the replica number
      const r = await cli(['runners', '--db', url]);
      expect(r.code).toBe(0);
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^ID\s+STATUS\s+HOST:PID\s+HEARTBEAT\s+CONCURRENCY\s+WORKFLOWS$/);
      expect(lines.slice(1)).toHaveLength(replicas);
      for (const line of lines.slice(1)) expect(line).toMatch(/^\S+-[0-9a-f]{8}\s+live\s+\S+:\d+\s+\d+(\.\d)?m?s ago\s+4\s+approval,fan-out,fan-out-item,order,reminder$/);
    }, 240_000);

    test('start prints the id; list, show, signal and cancel do what they say', async () => {
      const started = await cli(['start', 'approval', '--db', url, '--input', '{"requestId":"r-1","amount":50,"timeout":"1h"}', '--id', 'ap-1']);
      expect(started).toEqual({ code: 0, stdout: 'ap-1\n', stderr: '' });
      const order = await cli(['start', 'order', '--db', url, '--id', 'o-1', '--input', '{"orderId":"o1","customerId":"c1","amount":700,"items":2,"warehouseDelay":"1h"}']);
      expect(order.stdout).toBe('o-1\n');
      const generated = await cli(['start', 'reminder', '--db', url, '--input', '{"to":"a@example.com","message":"hi","delay":"1h"}']);
      expect(generated.stdout).toMatch(/^[0-9a-f-]{36}\n$/);
      await until('both to wait', async () => (await statusOf('ap-1')) === 'waiting' && (await statusOf('o-1')) === 'waiting');

      const waiting = await cli(['list', '--db', url, '--status', 'waiting', '--workflow', 'approval']);
      expect(waiting.stdout.trimEnd().split('\n')).toEqual([
        expect.stringMatching(/^ID\s+WORKFLOW\s+STATUS\s+BUILD\s+ATTEMPTS\s+CREATED \(UTC\)\s+TOOK\s+PARENT$/),
        // BUILD: the hash of the workflow module's source (the runner's default build id).
        expect.stringMatching(/^ap-1\s+approval\s+waiting\s+src-[0-9a-f]{12}\s+1\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\s+—$/),
      ]);
      const shown = await cli(['show', 'ap-1', '--db', url]);
      expect(shown.stdout).toMatch(/^status\s+waiting$/m);
      expect(shown.stdout).toMatch(/^waiting for\s+signal "approve" \(times out in 5\dm\d\ds\)$/m);
      expect(shown.stdout).toMatch(/^progress\s+\{"state":"waiting-for-approval","timeout":"1h"\}$/m);

      const signalled = await cli(['signal', 'ap-1', 'approve', '--db', url, '--payload', '{"approved":true,"by":"cli"}']);
      expect(signalled).toEqual({ code: 0, stdout: 'signalled ap-1: approve\n', stderr: '' });
      const cancelled = await cli(['cancel', 'o-1', '--db', url, '--reason', 'changed my mind']);
      expect(cancelled.code).toBe(0);
      expect(cancelled.stdout).toMatch(/^cancellation requested for o-1 /);
      await until('both to finish', async () => (await statusOf('ap-1')) === 'completed' && (await statusOf('o-1')) === 'cancelled');

      const approved = await cli(['show', 'ap-1', '--db', url]);
      expect(approved.stdout).toMatch(/^output\s+\{"requestId":"r-1","outcome":"approved","by":"cli"\}$/m);
      expect(approved.stdout).toMatch(/^history \(3 events\)$/m);
      expect(approved.stdout).toMatch(/^SEQ\s+KIND\s+NAME\s+STATUS\s+ATTEMPT\s+TOKEN\s+TIME \(UTC\)\s+VALUE$/m);
      expect(approved.stdout).toMatch(/^1\s+signal\s+approve\s+delivered\s+1\s+\d+\s+\d\d:\d\d:\d\d\.\d{3}\s+\{"approved":true,"by":"cli"\}$/m);
      const compensated = await cli(['show', 'o-1', '--db', url]);
      expect(compensated.stdout).toMatch(/^error\s+CancelledError: workflow cancelled: changed my mind$/m);
      const names = [...compensated.stdout.matchAll(/^\d+\s+(\w+)\s+(\S+)\s+(completed|delivered|scheduled)/gm)].map((m) => `${m[1]}:${m[2]}`);
      expect(names).toEqual(['step:reserve-inventory', 'step:charge', 'timer:await-pickup', 'cancel:cancel', 'step:refund', 'step:release-inventory']);

      const all = await cli(['list', '--db', url, '--limit', '2']);
      expect(all.stdout.trimEnd().split('\n')).toHaveLength(4); // header, 2 rows, "more" note
      expect(all.stdout).toMatch(/raise --limit/);
    }, 240_000);

    test('locks lists current grants with owner, token and time left', async () => {
      const locks = new DistributedLockManager(db);
      const grant = await locks.lock({ lockKey: 'my_task_123', owner: 'instance_1', ttl: '5m' });
      const r = await cli(['locks', '--db', url]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^KEY\s+OWNER\s+TOKEN\s+HOLDS\s+EXPIRES$/m);
      expect(r.stdout).toMatch(new RegExp(`^my_task_123\\s+instance_1\\s+${grant.token}\\s+1\\s+in 4m\\d\\ds$`, 'm'));
      const mine = await cli(['locks', '--db', url, '--owner', 'nobody']);
      expect(mine.stdout).toBe('no locks held\n');
      await locks.unlock('my_task_123', 'instance_1');
    }, 240_000);

    test('mistakes give one clear line and a non-zero exit', async () => {
      const [unknownId, finished] = await Promise.all([
        cli(['show', 'no-such-execution', '--db', url]),
        cli(['signal', 'ap-1', 'approve', '--db', url]),
      ]);
      expectOneLineError(unknownId, 3, /workflow execution "no-such-execution" not found/);
      expectOneLineError(finished, 4, /workflow execution "ap-1" already finished \(completed\)/);
      if (kind !== testDialects()[0]) return; // the rest never reaches the store: checked once
      const runs = await Promise.all([
        cli(['frobnicate', '--db', url]),
        cli(['start', 'approval', '--db', url, '--input', '{"requestId":']),
        cli(['list', '--db', url, '--status', 'sleeping']),
        cli(['show', '--db', url]),
        cli(['list', '--db', 'postgres://x/y']),
        cli(['start', 'approval', '--db', url, '--delay', 'soon']),
        cli(['start', '--help']),
      ]);
      expectOneLineError(runs[0], 2, /unknown command "frobnicate"/);
      expectOneLineError(runs[1], 2, /--input is not valid JSON/);
      expectOneLineError(runs[2], 2, /--status "sleeping" is not one of queued, running/);
      expectOneLineError(runs[3], 2, /show needs <id>/);
      expectOneLineError(runs[4], 2, /scheme "postgres" is not supported/);
      expectOneLineError(runs[5], 2, /--delay "soon" is not a duration/);
      expect(runs[6].code).toBe(0);
      expect(runs[6].stdout).toMatch(/^usage: leaseflow start <workflow>/);
      expect(runs[6].stdout).toMatch(/--input JSON/);
    }, 240_000);

    test('start --wait takes --input from a file or stdin beyond 128 KiB and prints the result; show --json prints it whole', async () => {
      const big = 'x'.repeat(200 * 1024);
      const file = join(tmpdir(), `leaseflow-cli-input-${process.pid}-${kind}.json`);
      writeFileSync(file, JSON.stringify({ to: 'a@example.com', message: big, delay: '10ms' }));
      try {
        const fromFile = await cli(['start', 'reminder', '--db', url, '--id', 'big-file', '--input', `@${file}`, '--wait', '--timeout', '30s']);
        expect({ code: fromFile.code, stderr: fromFile.stderr }).toEqual({ code: 0, stderr: '' });
        expect(JSON.parse(fromFile.stdout)).toMatchObject({ to: 'a@example.com', messageId: expect.stringMatching(/^msg-/) });
        const fromStdin = await cli(['start', 'reminder', '--db', url, '--id', 'big-stdin', '--input', '-', '--wait', '--json'], {}, 90_000,
          JSON.stringify({ to: 'b@example.com', message: big, delay: '10ms' }));
        expect(fromStdin.code).toBe(0);
        expect(JSON.parse(fromStdin.stdout)).toMatchObject({ id: 'big-stdin', status: 'completed', output: { to: 'b@example.com' } });
      } finally {
        rmSync(file, { force: true });
      }
      const shown = await cli(['show', 'big-stdin', '--db', url, '--json']);
      const doc = JSON.parse(shown.stdout) as { execution: { input: { message: string } }; history: { seq: number; kind: string; name: string }[] };
      expect(doc.execution.input.message).toHaveLength(big.length);
      expect(doc.history.map((e) => `${e.kind}:${e.name}`)).toEqual(expect.arrayContaining(['timer:wait', 'step:send']));
      const text = await cli(['show', 'big-stdin', '--db', url]);
      expect(text.stdout).toMatch(/^input\s+\{"to":"b@example.com","message":"x+…$/m);
      expect(text.stdout).toMatch(/values ending in … are cut; `leaseflow show big-stdin --json` prints them in full/);
      const result = await cli(['result', 'big-stdin', '--db', url]);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(result.stdout)).toMatchObject({ to: 'b@example.com' });
    }, 240_000);

    test('a failed workflow is exit 6 for start --wait and result; --json still prints the outcome', async () => {
      const failed = await cli(['start', 'fan-out', '--db', url, '--id', 'bad-fan', '--input', '{"count":0}', '--wait']);
      expectOneLineError(failed, 6, /workflow execution "bad-fan" failed: RangeError: count must be an integer between 1 and 50/);
      const again = await cli(['result', 'bad-fan', '--db', url, '--json']);
      expect(again.code).toBe(6);
      expect(JSON.parse(again.stdout)).toMatchObject({ id: 'bad-fan', status: 'failed', error: { name: 'RangeError' } });
      const resumed = await cli(['retry', 'bad-fan', '--db', url]); // no failed step: replays and fails the same way
      expect(resumed).toEqual({ code: 0, stdout: 'resumed bad-fan\n', stderr: '' });
      expect((await cli(['result', 'bad-fan', '--db', url, '--timeout', '30s'])).code).toBe(6);
      expectOneLineError(await cli(['resume', 'big-file', '--db', url]), 4, /cannot be resumed: it is completed/);
    }, 240_000);

    test('terminate stops a waiting execution at once; read commands print JSON with --json', async () => {
      expect((await cli(['start', 'reminder', '--db', url, '--id', 'rem-t', '--input', '{"to":"c@example.com","message":"m","delay":"1h"}'])).code).toBe(0);
      await until('it to wait', async () => (await statusOf('rem-t')) === 'waiting');
      expect(await cli(['terminate', 'rem-t', '--db', url, '--reason', 'obsolete'])).toEqual({ code: 0, stdout: 'terminated rem-t\n', stderr: '' });
      const out = await cli(['result', 'rem-t', '--db', url, '--json']);
      expect(JSON.parse(out.stdout)).toMatchObject({ status: 'cancelled', error: { name: 'TerminatedError', message: 'workflow terminated: obsolete' } });
      expectOneLineError(await cli(['terminate', 'rem-t', '--db', url]), 4, /already finished \(cancelled\)/);
      const list = JSON.parse((await cli(['list', '--db', url, '--json', '--limit', '1'])).stdout) as { executions: { id: string }[]; more: boolean };
      expect(list).toMatchObject({ executions: [expect.objectContaining({ id: expect.any(String) })], more: true });
      const runners = JSON.parse((await cli(['runners', '--db', url, '--json'])).stdout) as { runners: { status: string }[] };
      expect(runners.runners.filter((r) => r.status === 'live')).toHaveLength(replicas);
      const locks = JSON.parse((await cli(['locks', '--db', url, '--json'])).stdout) as { locks: unknown[] };
      expect(Array.isArray(locks.locks)).toBe(true);
    }, 240_000);

    test('start refuses a workflow unknown to --workflows (exit 3) and warns when it has no registry', async () => {
      expectOneLineError(await cli(['start', 'no-such-flow', '--db', url, '--workflows', 'workflows']), 3, /unknown workflow "no-such-flow"/);
      const warned = await cli(['start', 'no-such-flow', '--db', url, '--id', 'nsf-1']);
      expect(warned.code).toBe(0);
      expect(warned.stdout).toBe('nsf-1\n');
      expect(warned.stderr).toMatch(/^leaseflow: warning: workflow "no-such-flow" is not in \.\/workflows; started by name/);
      await client.getHandle('nsf-1').terminate('test cleanup');
    }, 240_000);

    test('SIGTERM stops the runner replicas gracefully and `runners --live` shows none', async () => {
      const proc = runner as ChildProcess;
      const exited = new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
      process.kill(proc.pid as number, 'SIGTERM');
      expect(await exited).toBe(0);
      expect(runnerOut.match(/"msg":"runner stopped"/g)).toHaveLength(replicas);
      const r = await cli(['runners', '--db', url, '--live']);
      expect(r.stdout).toBe('no live runners\n');
      const every = await cli(['runners', '--db', url]);
      expect(every.stdout.match(/\sstopped\s/g)).toHaveLength(replicas);
    }, 240_000);
  });
}
