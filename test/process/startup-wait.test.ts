/**
 * A runner process started while its store cannot be reached waits for it (runner/startup.ts):
 * behind a TCP proxy that accepts and at once closes every connection (HAProxy with every
 * node DOWN — what CI's cluster pass once met), the process logs its retries and becomes ready
 * as soon as the proxy reaches the server, then runs work; with a short LEASEFLOW_STARTUP_WAIT
 * it gives up with the typed error; refused credentials are not retried at all. MariaDB/MySQL
 * only (a proxy needs TCP).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { createClient } from '../../engine';
import { lostToUnavailable, toConnectError } from '../../engine/store/connect-errors';
import { StoreUnavailableError } from '../../engine/errors';
import { freshDbUrl, testDialects } from '../helpers/db';
import { openDatabase, type Database } from '../../engine/store/database';
import { killAllRunners, RunnerProcess, waitFor } from '../helpers/processes';
import { createAttemptsTable } from './fixtures/attempts';
import { procSteps } from './fixtures/workflows';

const describeMysql = testDialects().includes('mysql') ? describe : describe.skip;

/** A proxy in front of the test server: 'close' drops every connection on accept, 'pipe' forwards it. */
class FlakyProxy {
  mode: 'close' | 'pipe' = 'close';
  accepted = 0;
  #server: Server;
  #sockets = new Set<Socket>();
  constructor(private readonly target: { host: string; port: number }) {
    this.#server = createServer((client) => {
      this.accepted++;
      if (this.mode === 'close') return void client.destroy();
      const upstream = connect(target.port, target.host);
      for (const s of [client, upstream]) { this.#sockets.add(s); s.on('close', () => this.#sockets.delete(s)).on('error', () => undefined); }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }
  listen(): Promise<number> {
    return new Promise((r) => this.#server.listen(0, '127.0.0.1', () => r((this.#server.address() as { port: number }).port)));
  }
  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((r) => this.#server.close(() => r()));
  }
}

const retries = (p: RunnerProcess) => p.logs.filter((l) => l.msg === 'store unavailable at startup: retrying');

describeMysql('a starting runner waits for an unreachable store', () => {
  let url: string;
  let db: Database;
  let proxy: FlakyProxy;
  let proxyUrl: string;

  beforeAll(async () => {
    url = await freshDbUrl('mysql', 'startup_wait');
    db = await openDatabase(url);
    await db.migrate();
    await createAttemptsTable(db);
    const u = new URL(url.replace(/^\w+:/, 'http:'));
    proxy = new FlakyProxy({ host: u.hostname, port: Number(u.port || 3306) });
    const port = await proxy.listen();
    // mariadb://: the MariaDB driver, whose error for a connection closed before the greeting
    // (45009) is what the cluster pass met; the mysql2 driver says PROTOCOL_CONNECTION_LOST.
    proxyUrl = url.replace(/^\w+:/, 'mariadb:').replace(/@[^/]+\//, `@127.0.0.1:${port}/`);
  });
  afterAll(async () => {
    await killAllRunners();
    await proxy?.close();
    await db?.close();
  });

  test('a connection closed before the greeting is the typed StoreUnavailableError', () => {
    const err = Object.assign(new Error('(conn:-1, no: 45009, SQLState: 08S01) socket has unexpectedly been closed'), { code: 'ER_SOCKET_UNEXPECTED_CLOSE', errno: 45009 });
    const typed = toConnectError(err, { host: 'db.internal', port: 4400, user: 'app' } as never, 3000);
    expect(typed).toBeInstanceOf(StoreUnavailableError);
    expect((typed as Error).message).toBe('store at db.internal:4400 is unavailable: the connection was closed before the server answered (a proxy with no server up, or a server going down)');
    // While a runner joins (migrate, register), a lost connection is typed the same way; other errors pass unchanged.
    expect(lostToUnavailable(err, 'mariadb://app@db.internal:4400/x')).toBeInstanceOf(StoreUnavailableError);
    const other = new Error('Duplicate entry');
    expect(lostToUnavailable(other, 'x')).toBe(other);
  });

  test('behind a proxy that closes every connection it retries, then starts and runs work once the proxy reaches the server', async () => {
    proxy.mode = 'close';
    const p = new RunnerProcess({ dbUrl: proxyUrl, instanceId: 'startup-wait-01', env: { LEASEFLOW_STARTUP_WAIT: '60s' }, pollInterval: '100ms' });
    await waitFor(() => retries(p).length >= 2 || !p.alive, { timeoutMs: 30_000, what: 'two logged startup retries' });
    expect(p.alive).toBe(true);
    expect(String(retries(p)[0].err)).toContain('the connection was closed before the server answered');
    expect(proxy.accepted).toBeGreaterThanOrEqual(2);
    proxy.mode = 'pipe';
    await p.ready(30_000);
    await waitFor(() => p.logs.some((l) => l.msg === 'store reachable: runner started'), { timeoutMs: 5_000, what: 'the "store reachable" log line' });
    const client = await createClient({ db });
    try {
      const h = await client.start(procSteps, { steps: 2 }, { id: 'startup-wait-wf' });
      expect(await h.result({ timeout: '20s' })).toBeDefined();
    } finally {
      await client.close();
    }
    expect((await p.terminate()).code).toBe(0);
  }, 90_000);

  test('it gives up after LEASEFLOW_STARTUP_WAIT with the typed error, and exits non-zero', async () => {
    proxy.mode = 'close';
    const p = new RunnerProcess({ dbUrl: proxyUrl, instanceId: 'startup-wait-02', env: { LEASEFLOW_STARTUP_WAIT: '1s' } });
    const exit = await p.exited;
    expect(exit.code).toBe(1);
    expect(retries(p).length).toBeGreaterThanOrEqual(1);
    expect(p.stderr.join('')).toContain('is unavailable: the connection was closed before the server answered');
  }, 60_000);

  test('refused credentials are not retried: the process exits at once with the auth error', async () => {
    const badUser = url.replace(/\/\/[^@]+@/, '//no_such_user_lf@');
    const p = new RunnerProcess({ dbUrl: badUser, instanceId: 'startup-wait-03', env: { LEASEFLOW_STARTUP_WAIT: '60s' } });
    const exit = await p.exited;
    expect(exit.code).toBe(1);
    expect(retries(p)).toHaveLength(0);
    expect(p.stderr.join('')).toContain('refused the credentials of user "no_such_user_lf"');
  }, 60_000);
});
