/**
 * The HAProxy in front of the Galera nodes: write its configuration and health check, start it
 * as a daemon with its own pid file, stop it, and read which servers it considers UP through its
 * admin socket. One writer at a time in single-writer mode (the others are backups).
 */
import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { checkScript, haproxyCfg, type ClusterLayout, type ProxyMode } from './layout';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The proxy's pid when it is alive. */
export function proxyPid(c: ClusterLayout): number | undefined {
  try {
    const pid = Number(readFileSync(c.haproxyPid, 'utf8').trim().split('\n')[0]);
    if (!pid) return undefined;
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** The mode the proxy was last started in. */
export function proxyMode(c: ClusterLayout): ProxyMode | undefined {
  try {
    const m = readFileSync(c.modeFile, 'utf8').trim();
    return m === 'multi-writer' || m === 'single-writer' ? m : undefined;
  } catch {
    return undefined;
  }
}

/** Send one command to the admin socket; returns its answer. */
export function proxyCommand(c: ClusterLayout, command: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(c.haproxySocket);
    let out = '';
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`haproxy socket: no answer in ${timeoutMs} ms`)); }, timeoutMs);
    sock.on('connect', () => sock.write(`${command}\n`));
    sock.setEncoding('utf8').on('data', (d: string) => { out += d; });
    sock.on('end', () => { clearTimeout(timer); resolve(out); });
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

/** One proxied session: the client's address and the proxy's own address towards the node. */
export interface ProxySession { source: string; backend: string }

/** Sessions in the answer to `show sess all` (`source=ip:port`, then the backend's `addr=ip:port`). */
export function parseProxySessions(text: string): ProxySession[] {
  const out: ProxySession[] = [];
  let source: string | undefined;
  for (const line of text.split('\n')) {
    const src = /^\S+: \[.*\] id=\d+ proto=\S+ source=(\S+)/.exec(line);
    if (src) { source = src[1]; continue; }
    const be = /^\s+backend=.* addr=(\S+)/.exec(line);
    if (be && source) { out.push({ source, backend: be[1] }); source = undefined; }
  }
  return out;
}

/** One backend server as the proxy sees it. */
export interface ProxyServer { name: string; status: string; backup: boolean; sessions: number }

/** Servers of the `galera` backend with their check status (UP, DOWN, …). */
export async function proxyServers(c: ClusterLayout): Promise<ProxyServer[]> {
  const csv = await proxyCommand(c, 'show stat');
  const lines = csv.split('\n').filter(Boolean);
  const header = lines[0]?.replace(/^# /, '').split(',') ?? [];
  const col = (name: string) => header.indexOf(name);
  return lines.slice(1).map((l) => l.split(',')).filter((f) => f[0] === 'galera' && f[1] !== 'FRONTEND' && f[1] !== 'BACKEND')
    .map((f) => ({ name: f[1], status: f[col('status')], backup: f[col('bck')] === '1', sessions: Number(f[col('scur')]) }));
}

/** The server the proxy sends new connections to right now (single-writer), if any is UP. */
export async function proxyWriter(c: ClusterLayout): Promise<string | undefined> {
  const servers = await proxyServers(c);
  const up = servers.filter((s) => s.status.startsWith('UP'));
  return (up.find((s) => !s.backup) ?? up[0])?.name;
}

/** Write the configuration and start haproxy as a daemon; waits until its socket answers. */
export async function startProxy(c: ClusterLayout, mode: ProxyMode): Promise<void> {
  if (proxyPid(c)) throw new Error(`haproxy already runs (pid ${proxyPid(c)})`);
  writeFileSync(c.checkScript, checkScript());
  chmodSync(c.checkScript, 0o755);
  writeFileSync(c.haproxyCfg, haproxyCfg(c, mode));
  writeFileSync(c.modeFile, `${mode}\n`);
  await run('haproxy', ['-c', '-q', '-f', c.haproxyCfg], { timeout: 10_000 });
  await run('haproxy', ['-D', '-f', c.haproxyCfg, '-p', c.haproxyPid], { timeout: 10_000 });
  for (let i = 0; i < 100; i++) {
    try {
      const servers = await proxyServers(c);
      if (servers.some((s) => s.status.startsWith('UP'))) return;
    } catch { /* not yet */ }
    await sleep(100);
  }
  throw new Error('haproxy started but reports no server UP within 10 s');
}

/** Stop the proxy (SIGTERM, then SIGKILL after 5 s). */
export async function stopProxy(c: ClusterLayout): Promise<void> {
  const pid = proxyPid(c);
  if (!pid) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 50; i++) {
    try { process.kill(pid, 0); } catch { return; }
    await sleep(100);
  }
  process.kill(pid, 'SIGKILL');
}
