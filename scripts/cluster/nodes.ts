/**
 * One Galera node's life: create its data dir, start it (bootstrap, join, or rejoin by IST from a
 * recovered position), stop it cleanly, kill -9 it, and read its wsrep state. Every wait is
 * bounded; processes are found through their own pid files, never by name.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { nodeCnf, type ClusterLayout, type NodeLayout } from './layout';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The node's mariadbd pid when it is alive, else undefined. */
export function nodePid(node: NodeLayout): number | undefined {
  try {
    const pid = Number(readFileSync(node.pidFile, 'utf8').trim());
    if (!pid) return undefined;
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Run one SQL statement on the node through its socket; returns tab-separated rows. */
export async function nodeQuery(node: NodeLayout, sql: string, timeoutMs = 5000): Promise<string[][]> {
  const { stdout } = await run('mariadb', ['--no-defaults', `--socket=${node.socket}`, '-uroot', '--connect-timeout=2', '-N', '-B', '-e', sql], { timeout: timeoutMs });
  return stdout.split('\n').filter(Boolean).map((l) => l.split('\t'));
}

/** wsrep status of a node, or null when it does not answer. */
export interface NodeState {
  state: number;
  comment: string;
  clusterStatus: string;
  clusterSize: number;
  ready: boolean;
  lastCommitted: number;
}

/** Read the node's wsrep status (null when it does not answer). */
export async function nodeState(node: NodeLayout): Promise<NodeState | null> {
  try {
    const rows = await nodeQuery(node, "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state', 'wsrep_local_state_comment', 'wsrep_cluster_status', 'wsrep_cluster_size', 'wsrep_ready', 'wsrep_last_committed')", 3000);
    const m = new Map(rows.map(([k, v]) => [k, v ?? '']));
    return {
      state: Number(m.get('wsrep_local_state') ?? 0), comment: m.get('wsrep_local_state_comment') ?? '?', clusterStatus: m.get('wsrep_cluster_status') ?? '?',
      clusterSize: Number(m.get('wsrep_cluster_size') ?? 0), ready: m.get('wsrep_ready') === 'ON', lastCommitted: Number(m.get('wsrep_last_committed') ?? -1),
    };
  } catch {
    return null;
  }
}

/** Create an empty data dir for the node (root: empty password on localhost/127.0.0.1). */
export async function initNode(c: ClusterLayout, node: NodeLayout): Promise<void> {
  rmSync(node.dataDir, { recursive: true, force: true });
  mkdirSync(node.dataDir, { recursive: true });
  writeFileSync(node.cnf, nodeCnf(c, node));
  await run('chown', ['-R', 'mysql:mysql', node.dataDir.replace(/\/data$/, '')]);
  await run('mariadb-install-db', ['--no-defaults', `--datadir=${node.dataDir}`, '--user=mysql', '--auth-root-authentication-method=normal', '--skip-test-db'], { timeout: 120_000 });
}

/** The position in grastate.dat: `uuid:seqno`, seqno -1 after a crash. */
export function grastate(node: NodeLayout): { uuid: string; seqno: number; safeToBootstrap: boolean } | null {
  const path = `${node.dataDir}/grastate.dat`;
  if (!existsSync(path)) return null;
  const text = readFileSync(path, 'utf8');
  return {
    uuid: /uuid:\s*(\S+)/.exec(text)?.[1] ?? '', seqno: Number(/seqno:\s*(-?\d+)/.exec(text)?.[1] ?? -1),
    safeToBootstrap: /safe_to_bootstrap:\s*1/.test(text),
  };
}

/** `mariadbd --wsrep-recover`: the last committed position in the node's InnoDB (after a crash). */
export async function recoverPosition(node: NodeLayout): Promise<string | undefined> {
  const before = existsSync(node.errorLog) ? readFileSync(node.errorLog, 'utf8').length : 0;
  await run('mariadbd', [`--defaults-file=${node.cnf}`, '--wsrep-recover'], { timeout: 120_000 }).catch(() => undefined);
  const text = existsSync(node.errorLog) ? readFileSync(node.errorLog, 'utf8').slice(before) : '';
  const m = /WSREP: Recovered position:\s*([0-9a-f-]{36}:-?\d+)/.exec(text);
  return m && !m[1].endsWith(':-1') ? m[1] : undefined;
}

/** How a node starts. */
export type StartMode = 'bootstrap' | 'join';

/**
 * Start the node detached and wait until it is Synced (or `timeoutMs` passes, which throws).
 * A node whose grastate says it crashed (seqno -1) first recovers its position, so it rejoins
 * by IST from a donor's gcache instead of copying everything (SST).
 */
export async function startNode(node: NodeLayout, mode: StartMode, timeoutMs = 120_000): Promise<{ via: string; ms: number }> {
  if (nodePid(node)) throw new Error(`${node.name} is already running (pid ${nodePid(node)})`);
  const t0 = Date.now();
  const args = [`--defaults-file=${node.cnf}`];
  let via = mode === 'bootstrap' ? 'bootstrap' : 'join';
  const g = grastate(node);
  if (mode === 'join' && g && g.uuid && g.uuid !== '00000000-0000-0000-0000-000000000000') {
    if (g.seqno < 0) {
      const pos = await recoverPosition(node);
      if (pos) { args.push(`--wsrep_start_position=${pos}`); via = `rejoin from recovered ${pos}`; }
    } else via = `rejoin from ${g.uuid}:${g.seqno}`;
  }
  if (mode === 'bootstrap') args.push('--wsrep-new-cluster');
  rmSync(node.pidFile, { force: true });
  const child = spawn('mariadbd', args, { detached: true, stdio: 'ignore' }); // detached: its own session
  child.unref();
  const alive = () => { try { process.kill(child.pid as number, 0); return true; } catch { return false; } };
  const deadline = t0 + timeoutMs;
  while (Date.now() < deadline) {
    const s = await nodeState(node);
    if (s && s.state === 4 && s.clusterStatus === 'Primary') return { via, ms: Date.now() - t0 };
    if (!alive()) throw new Error(`${node.name} exited while starting; see ${node.errorLog}`);
    await sleep(200);
  }
  throw new Error(`${node.name} not Synced within ${timeoutMs} ms; see ${node.errorLog}`);
}

/** Stop the node cleanly (mariadb-admin shutdown), waiting for its process to go. */
export async function stopNode(node: NodeLayout, timeoutMs = 60_000): Promise<void> {
  const pid = nodePid(node);
  if (!pid) return;
  await run('mariadb-admin', ['--no-defaults', `--socket=${node.socket}`, '-uroot', 'shutdown'], { timeout: timeoutMs }).catch(() => undefined);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try { process.kill(pid, 0); } catch { return; }
    await sleep(100);
  }
  process.kill(pid, 'SIGKILL');
}

/** kill -9 the node; returns the pid killed (undefined when it was not running). */
export function killNode(node: NodeLayout): number | undefined {
  const pid = nodePid(node);
  if (pid) process.kill(pid, 'SIGKILL');
  return pid;
}
