/**
 * The local cluster's generated files (scripts/cluster/layout.ts): ports never collide, every node
 * names all members and its own Galera addresses, the proxy has one writer and backups in
 * single-writer mode and all writers in multi-writer mode, and HAProxy itself accepts the file
 * (when haproxy is installed).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterLayout, haproxyCfg, nodeCnf } from '../../scripts/cluster/layout';

const haproxyInstalled = (() => { try { execFileSync('haproxy', ['-v']); return true; } catch { return false; } })();

describe('local cluster layout', () => {
  const c = clusterLayout('/tmp/x-cluster', 4600);

  it('gives the proxy and every node distinct ports from the base', () => {
    const ports = [c.proxyPort, ...c.nodes.flatMap((n) => [n.sqlPort, n.gcommPort, n.istPort, n.sstPort])];
    expect(new Set(ports).size).toBe(ports.length);
    expect(Math.min(...ports)).toBe(4600);
    expect(Math.max(...ports)).toBeLessThan(4700);
  });

  it('writes node configs that list every member and only this node\'s own addresses', () => {
    for (const n of c.nodes) {
      const cnf = nodeCnf(c, n);
      expect(cnf).toContain(`wsrep_cluster_address = gcomm://127.0.0.1:4611,127.0.0.1:4621,127.0.0.1:4631`);
      expect(cnf).toContain(`port = ${n.sqlPort}`);
      expect(cnf).toContain(`gmcast.listen_addr=tcp://127.0.0.1:${n.gcommPort}`);
      expect(cnf).toContain(`ist.recv_addr=127.0.0.1:${n.istPort}`);
      expect(cnf).toContain(`wsrep_sst_receive_address = 127.0.0.1:${n.sstPort}`);
      expect(cnf).toContain(`datadir = ${n.dataDir}`);
      expect(cnf).toMatch(/binlog_format = ROW/);
    }
  });

  it('has one writer and ordered backups in single-writer mode, no backups in multi-writer mode', () => {
    const section = (mode: 'single-writer' | 'multi-writer', name: string) => haproxyCfg(c, mode).split('\nlisten ').find((x) => x.startsWith(`${name}\n`))!;
    const servers = (mode: 'single-writer' | 'multi-writer', name = 'galera') => section(mode, name).split('\n').filter((l) => l.trim().startsWith('server '));
    const single = servers('single-writer');
    expect(single.map((l) => / backup$/.test(l))).toEqual([false, true, true]);
    expect(single[0]).toMatch(/on-marked-up shutdown-backup-sessions/);
    expect(single.every((l) => /on-marked-down shutdown-sessions/.test(l))).toBe(true);
    expect(servers('multi-writer').some((l) => /backup/.test(l))).toBe(false);
    expect(section('single-writer', 'galera')).toMatch(/external-check command \/tmp\/x-cluster\/galera-check\.sh/);
    // The harness port follows the same checks (no checks of its own) and connects from 127.0.0.2.
    const harness = servers('single-writer', 'galera-harness');
    expect(harness.map((l) => / backup$/.test(l))).toEqual([false, true, true]);
    expect(harness.every((l, i) => l.includes(`track galera/node${i + 1}`) && !/ check /.test(l))).toBe(true);
    expect(section('single-writer', 'galera-harness')).toMatch(/source 127\.0\.0\.2/);
  });

  (haproxyInstalled ? it : it.skip)('produces configurations haproxy -c accepts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lf-haproxy-'));
    for (const mode of ['single-writer', 'multi-writer'] as const) {
      const file = join(dir, `${mode}.cfg`);
      writeFileSync(file, haproxyCfg(clusterLayout(dir, 4600), mode));
      expect(() => execFileSync('haproxy', ['-c', '-q', '-f', file], { stdio: 'pipe' })).not.toThrow();
    }
  });
});
