/**
 * Simulated hosts for the cluster harness (scripts/cluster/hosts.ts), with real network
 * namespaces: a process inside a host reaches a server in the root namespace through the host's
 * gateway, from the host's own address; a partition cuts it off (connects time out, nothing is
 * refused) until healed; destroying the set removes every namespace it made. Needs root and
 * iproute2 (skipped otherwise).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { SimHosts } from '../../scripts/cluster/hosts';

const canRun = (() => {
  try { return process.getuid?.() === 0 && execFileSync('ip', ['netns', 'list']) !== undefined; } catch { return false; }
})();

/** Connect from inside `netns` to host:port; resolves with what the server said, or 'timeout'/'error: …'. */
function connectFrom(prefix: string[], host: string, port: number, timeoutMs: number): Promise<string> {
  const script = `const s=require('net').connect(${port},'${host}');s.setTimeout(${timeoutMs},()=>{process.stdout.write('timeout');process.exit(0)});` +
    "s.on('data',d=>{process.stdout.write(String(d));process.exit(0)});s.on('error',e=>{process.stdout.write('error: '+e.code);process.exit(0)})";
  return new Promise((resolve) => {
    const child = spawn(prefix[0], [...prefix.slice(1), process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c; });
    child.once('exit', () => resolve(out));
  });
}

(canRun ? describe : describe.skip)('simulated hosts (network namespaces)', () => {
  const hosts = new SimHosts('lftest', 241); // a subnet of its own: chaos/bench runs may have hosts up
  let server: Server;
  let port = 0;

  beforeAll(async () => {
    server = createServer((sock) => sock.end(`hello ${sock.remoteAddress?.replace('::ffff:', '')}`));
    await new Promise<void>((r) => server.listen(0, '0.0.0.0', () => r()));
    port = (server.address() as { port: number }).port;
    hosts.create(2);
  });

  afterAll(async () => {
    hosts.destroyAll();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('lets each host reach the root namespace through its gateway, from its own address', async () => {
    for (const h of hosts.hosts) {
      expect(await connectFrom(hosts.exec(h.n), h.gateway, port, 10_000)).toBe(`hello ${h.address}`);
    }
  });

  it('cuts one host off in a partition (a silent timeout) while the other keeps working, until healed', async () => {
    const [a, b] = hosts.hosts;
    hosts.partition(a.n);
    try {
      expect(await connectFrom(hosts.exec(a.n), a.gateway, port, 1500)).toBe('timeout');
      expect(await connectFrom(hosts.exec(b.n), b.gateway, port, 10_000)).toBe(`hello ${b.address}`);
    } finally {
      hosts.heal(a.n);
    }
    expect(await connectFrom(hosts.exec(a.n), a.gateway, port, 10_000)).toBe(`hello ${a.address}`);
  });

  it('removes every namespace it created', () => {
    const extra = new SimHosts('lftestx', 242);
    extra.create(2);
    expect(execFileSync('ip', ['netns', 'list']).toString()).toMatch(/lftestx1/);
    extra.destroyAll();
    expect(execFileSync('ip', ['netns', 'list']).toString()).not.toMatch(/lftestx\d/);
    expect(() => execFileSync('ip', ['link', 'show', 'lftestx1r'], { stdio: 'pipe' })).toThrow();
  });
});
