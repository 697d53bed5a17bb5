/**
 * The database side of the faults: which MariaDB connections belong to which runner process
 * (a process's TCP sockets, from /proc, matched with the client ports in
 * information_schema.PROCESSLIST), killing them, telling whether they hold an open transaction,
 * and restarting the MariaDB server itself (only when the run was allowed to).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Database } from '../../engine';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Local ports of `pid`'s TCP connections to `serverPort` (read in `pid`'s own network namespace). */
export function clientPorts(pid: number, serverPort = 3306): Set<number> {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]);
      } catch { /* fd closed meanwhile */ }
    }
  } catch {
    return new Set();
  }
  const ports = new Set<number>();
  for (const table of [`/proc/${pid}/net/tcp`, `/proc/${pid}/net/tcp6`]) {
    let text: string;
    try { text = readFileSync(table, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9])) continue;
      const remotePort = parseInt(f[2].split(':')[1], 16);
      if (remotePort === serverPort) ports.add(parseInt(f[1].split(':')[1], 16));
    }
  }
  return ports;
}

/** One server connection of the chaos database. */
export interface ServerConnection { id: number; host: string; port: number; command: string; inTransaction: boolean }

/** Connections to `dbName` whose client port is in `ports` (all of the database's when omitted). */
export async function serverConnections(admin: Database, dbName: string, ports?: Set<number>): Promise<ServerConnection[]> {
  const rows = await admin.sql.all<{ ID: unknown; HOST: unknown; COMMAND: unknown; TRX: unknown }>(
    'SELECT p.ID, p.HOST, p.COMMAND, t.trx_id AS TRX FROM information_schema.PROCESSLIST p ' +
      'LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID WHERE p.DB = ? AND p.ID <> CONNECTION_ID()',
    [dbName],
  );
  return rows
    .map((r) => ({ id: Number(r.ID), host: String(r.HOST).split(':')[0], port: Number(String(r.HOST).split(':').pop()), command: String(r.COMMAND), inTransaction: r.TRX !== null && r.TRX !== undefined }))
    .filter((c) => ports === undefined || ports.has(c.port));
}

/** KILL each connection; returns how many were killed (some may be gone already). */
export async function killConnections(admin: Database, ids: readonly number[]): Promise<number> {
  let n = 0;
  for (const id of ids) {
    try {
      await admin.sql.run(`KILL CONNECTION ${Number(id)}`);
      n++;
    } catch { /* already gone */ }
  }
  return n;
}

/** Is the server answering? */
export async function ping(): Promise<boolean> {
  try {
    await run('mariadb-admin', ['-uroot', '-h127.0.0.1', '--connect-timeout=2', 'ping'], { timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

function serverPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')[0];
      if (/(^|\/)(mariadbd|mysqld)$/.test(cmd)) pids.push(Number(entry));
    } catch { /* gone */ }
  }
  return pids;
}

/**
 * Restart MariaDB: a clean shutdown, a pause of `downMs`, then start it again detached (as it
 * was started on these machines: `mariadbd --user=mysql`) and wait until it answers.
 * Returns when the server went down and came back (epoch ms).
 */
export async function restartMariaDb(downMs: number): Promise<{ downAt: number; upAt: number }> {
  await run('mariadb-admin', ['-uroot', '-h127.0.0.1', 'shutdown'], { timeout: 60_000 });
  for (let i = 0; i < 600 && serverPids().length > 0; i++) await sleep(100);
  const downAt = Date.now();
  await sleep(downMs);
  mkdirSync('/run/mysqld', { recursive: true });
  await run('chown', ['mysql:mysql', '/run/mysqld']).catch(() => undefined);
  const child = spawn('setsid', ['/usr/sbin/mariadbd', '--user=mysql'], { detached: true, stdio: 'ignore' });
  child.unref();
  for (let i = 0; i < 600; i++) {
    if (await ping()) return { downAt, upAt: Date.now() };
    await sleep(200);
  }
  throw new Error('MariaDB did not come back within 120 s');
}

/** Other test processes (jest) on this machine: a MariaDB restart would break them. */
export function otherTestProcesses(): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (/\bjest\b|jest-worker/.test(cmd)) found.push(`${entry} ${cmd.slice(0, 120)}`);
    } catch { /* gone */ }
  }
  return found;
}
