/**
 * The Galera deployment (docker-compose.galera.yml + docker/haproxy-galera.cfg) is wired
 * correctly, checked without a Docker engine: the compose file is parsed with compose's `${VAR:-x}`
 * interpolation and YAML merge keys; three nodes form one cluster that exactly one bootstraps;
 * joiners wait for a Synced node; HAProxy has one writer and backups checked by a Galera-aware
 * agent; runners reach the database only through the proxy with the nodes' own credentials.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const root = join(__dirname, '..', '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { isWritable } = require(join(root, 'scripts/cluster/galera-check-agent.cjs')) as { isWritable: (rows: unknown[]) => boolean };

function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g, (whole, name?: string, op?: string, def?: string) => {
    if (whole === '$$') return '$';
    const value = env[name!];
    if (op === ':-') return value ? value : def!;
    if (op === '-') return value !== undefined ? value : def!;
    return value ?? '';
  });
}

type Service = {
  image?: string; build?: unknown; command?: string[]; init?: boolean;
  environment?: Record<string, string>; healthcheck?: { test?: string[] };
  depends_on?: Record<string, { condition?: string }>; volumes?: string[]; deploy?: { replicas?: number | string };
  stop_signal?: string;
};
type Compose = { services: Record<string, Service>; volumes?: Record<string, unknown> };

const load = (env: Record<string, string | undefined> = {}): Compose =>
  parse(interpolate(readFileSync(join(root, 'docker-compose.galera.yml'), 'utf8'), env), { merge: true }) as Compose;
const flag = (s: Service, name: string) => s.command?.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const NODES = ['galera1', 'galera2', 'galera3'];

describe('docker-compose.galera.yml', () => {
  const compose = load();
  const nodes = NODES.map((n) => compose.services[n]!);

  it('runs three MariaDB 10.11 nodes with Galera in one cluster, each on its own volume', () => {
    for (const [i, s] of nodes.entries()) {
      expect(s.image).toMatch(/^mariadb:10\.11/);
      expect(flag(s, 'wsrep_on')).toBe('ON');
      expect(flag(s, 'wsrep_provider')).toBe('/usr/lib/galera/libgalera_smm.so');
      expect(flag(s, 'wsrep_cluster_address')).toBe('gcomm://galera1,galera2,galera3');
      expect(flag(s, 'wsrep_cluster_name')).toBe('leaseflow');
      expect(flag(s, 'wsrep_node_name')).toBe(NODES[i]);
      expect(flag(s, 'binlog_format')).toBe('ROW');
      expect(flag(s, 'innodb_autoinc_lock_mode')).toBe('2');
      const [volume, target] = s.volumes![0]!.split(':');
      expect(target).toBe('/var/lib/mysql');
      expect(Object.keys(compose.volumes ?? {})).toContain(volume);
    }
    expect(new Set(nodes.map((s) => s.volumes![0])).size).toBe(3);
  });

  it('bootstraps from exactly one node; the others join one at a time after a Synced node', () => {
    expect(nodes.map((s) => s.command!.includes('--wsrep-new-cluster'))).toEqual([true, false, false]);
    expect(compose.services.galera2!.depends_on).toEqual({ galera1: { condition: 'service_healthy' } });
    expect(compose.services.galera3!.depends_on).toEqual({ galera2: { condition: 'service_healthy' } });
  });

  it('calls a node healthy only when it is Synced in the Primary component', () => {
    for (const s of nodes) {
      const test = s.healthcheck!.test!.join(' ');
      expect(test).toMatch(/wsrep_local_state.4/);
      expect(test).toMatch(/wsrep_cluster_status.Primary/);
      expect(test).toMatch(/-h 127\.0\.0\.1/);
    }
  });

  it('points the runners at the proxy, with the nodes\' credentials and database, once the cluster is whole', () => {
    for (const env of [{}, { LEASEFLOW_MYSQL_PASSWORD: 's3cret' }]) {
      const c = load(env);
      const node = c.services.galera1!.environment!;
      const url = new URL(c.services.runner!.environment!.LEASEFLOW_DB_URL!);
      expect(url.protocol).toBe('mariadb:');
      expect(url.hostname).toBe('haproxy');
      expect(url.port).toBe('3306');
      expect(decodeURIComponent(url.password)).toBe(node.MARIADB_ROOT_PASSWORD);
      expect(url.pathname).toBe(`/${node.MARIADB_DATABASE}`);
      expect(c.services['galera-check']!.environment!.GALERA_ROOT_PASSWORD).toBe(node.MARIADB_ROOT_PASSWORD);
    }
    expect(Object.keys(compose.services.runner!.depends_on!)).toEqual(expect.arrayContaining(['haproxy', 'galera3']));
    expect(Number(load({ RUNNER_REPLICAS: '7' }).services.runner!.deploy?.replicas)).toBe(7);
  });

  it('mounts the proxy configuration and the check agent from the repository', () => {
    expect(compose.services.haproxy!.image).toMatch(/^haproxy:2\./);
    expect(compose.services.haproxy!.volumes).toContain('./docker/haproxy-galera.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro');
    const agent = compose.services['galera-check']!;
    expect(agent.volumes).toContain('./scripts/cluster/galera-check-agent.cjs:/app/scripts/galera-check-agent.cjs:ro');
    expect(agent.command).toEqual(['node', 'scripts/galera-check-agent.cjs']);
    expect(agent.environment!.GALERA_NODES).toBe('galera1:3306,galera2:3306,galera3:3306');
  });
});

describe('docker/haproxy-galera.cfg', () => {
  const lines = readFileSync(join(root, 'docker/haproxy-galera.cfg'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const servers = lines.filter((l) => l.startsWith('server '));

  it('sends every connection to one writer, the other nodes being backups', () => {
    expect(lines).toContain('mode tcp');
    expect(lines).toContain('bind :3306');
    expect(servers.map((s) => s.split(' ')[1])).toEqual(NODES);
    expect(servers.map((s) => / backup\b/.test(s))).toEqual([false, true, true]);
  });

  it('closes the failback window: backups lose their sessions when the writer is back', () => {
    expect(servers[0]).toMatch(/on-marked-up shutdown-backup-sessions/);
    expect(lines.find((l) => l.startsWith('default-server'))).toMatch(/on-marked-down shutdown-sessions/);
  });

  it('checks each node through the Galera agent, on the port the agent serves for it', () => {
    expect(lines).toContain('option httpchk GET /');
    const agentPort = Number(load().services['galera-check']!.environment!.AGENT_BASE_PORT);
    servers.forEach((s, i) => expect(s).toMatch(new RegExp(`check addr galera-check port ${agentPort + i + 1}\\b`)));
  });
});

describe('galera-check agent', () => {
  const rows = (state: string, status: string) => [{ Variable_name: 'wsrep_cluster_status', Value: status }, { Variable_name: 'wsrep_local_state', Value: state }];
  it('calls a node writable only when Synced (4) in the Primary component', () => {
    expect(isWritable(rows('4', 'Primary'))).toBe(true);
    expect(isWritable(rows('2', 'Primary'))).toBe(false); // donor
    expect(isWritable(rows('1', 'Primary'))).toBe(false); // joiner
    expect(isWritable(rows('4', 'non-Primary'))).toBe(false);
    expect(isWritable([])).toBe(false);
  });
});
