/**
 * The Docker deployment is wired correctly, checked without a Docker engine: docker-compose.yml
 * is parsed (with compose's `${VAR:-default}` interpolation applied) and the runner's
 * LEASEFLOW_DB_URL must point at the mysql service with the credentials that service is given.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const root = join(__dirname, '..', '..');

/** Compose-style interpolation: `$$`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`. */
function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g, (whole, name?: string, op?: string, def?: string) => {
    if (whole === '$$') return '$'; // an escaped `$`, left for the container's shell
    const value = env[name!];
    if (op === ':-') return value ? value : def!;
    if (op === '-') return value !== undefined ? value : def!;
    return value ?? '';
  });
}

type Service = {
  image?: string;
  init?: boolean;
  build?: unknown;
  environment?: Record<string, string> | string[];
  healthcheck?: { test?: string | string[]; interval?: string };
  depends_on?: Record<string, { condition?: string }> | string[];
  deploy?: { replicas?: number | string };
  stop_signal?: string;
  stop_grace_period?: string;
  volumes?: string[];
};
type Compose = { services: Record<string, Service>; volumes?: Record<string, unknown> };

function loadCompose(env: Record<string, string | undefined> = {}): Compose {
  return parse(interpolate(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), env)) as Compose;
}

function envOf(s: Service): Record<string, string> {
  if (Array.isArray(s.environment)) {
    return Object.fromEntries(s.environment.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v)]));
}

function seconds(duration: string): number {
  const m = /^(?:(\d+)m)?(?:(\d+)s)?$/.exec(duration);
  if (!m || (!m[1] && !m[2])) throw new Error(`unexpected duration ${duration}`);
  return Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0);
}

describe('docker-compose.yml', () => {
  const compose = loadCompose();
  const mysql = compose.services.mysql;
  const runner = compose.services.runner;

  it('runs MySQL 8 with a database named leaseflow on a named volume', () => {
    expect(mysql.image).toMatch(/^mysql:8\.(0|4)(\.\d+)?$/);
    expect(envOf(mysql).MYSQL_DATABASE).toBe('leaseflow');
    const [volume, target] = (mysql.volumes ?? [])[0]!.split(':');
    expect(target).toBe('/var/lib/mysql');
    expect(Object.keys(compose.volumes ?? {})).toContain(volume);
  });

  it('gives MySQL a healthcheck that pings the server over TCP', () => {
    const test = mysql.healthcheck?.test;
    const command = Array.isArray(test) ? test.join(' ') : String(test);
    expect(command).toMatch(/mysqladmin ping/);
    expect(command).toMatch(/-h 127\.0\.0\.1/);
  });

  it('starts runners only once MySQL is healthy', () => {
    expect(runner.depends_on).toEqual({ mysql: { condition: 'service_healthy' } });
  });

  it('points LEASEFLOW_DB_URL at the mysql service with its own credentials and database', () => {
    for (const env of [{}, { LEASEFLOW_MYSQL_PASSWORD: 's3cret' }]) {
      const c = loadCompose(env);
      const server = envOf(c.services.mysql);
      const url = new URL(envOf(c.services.runner).LEASEFLOW_DB_URL!);
      expect(url.protocol).toBe('mysql:');
      expect(url.hostname).toBe('mysql');
      expect(url.port).toBe('3306');
      expect(url.username).toBe('root');
      expect(decodeURIComponent(url.password)).toBe(server.MYSQL_ROOT_PASSWORD);
      expect(url.pathname).toBe(`/${server.MYSQL_DATABASE}`);
    }
    expect(new URL(envOf(loadCompose({ LEASEFLOW_MYSQL_PASSWORD: 's3cret' }).services.runner).LEASEFLOW_DB_URL!).password).toBe('s3cret');
  });

  it('scales runners to RUNNER_REPLICAS, more than one by default', () => {
    expect(Number(runner.deploy?.replicas)).toBe(3);
    expect(Number(loadCompose({ RUNNER_REPLICAS: '7' }).services.runner.deploy?.replicas)).toBe(7);
  });

  it('stops runners with SIGTERM and a grace period longer than their drain timeout', () => {
    expect(runner.stop_signal).toBe('SIGTERM');
    const drain = seconds(envOf(runner).LEASEFLOW_DRAIN_TIMEOUT ?? '10s'); // the runner's default
    expect(drain).toBe(30);
    // Past the grace period Docker sends SIGKILL: the drain must have finished by then.
    expect(seconds(runner.stop_grace_period ?? '10s')).toBeGreaterThanOrEqual(drain + 10);
  });

  it('runs under an init process in compose, so the runner is not PID 1', () => {
    expect(runner.init).toBe(true);
  });

  it('builds the runner from the repository Dockerfile', () => {
    expect(runner.build).toBe('.');
    expect(runner.image).toBeUndefined();
  });
});

describe('Dockerfile', () => {
  const path = join(root, 'Dockerfile');
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const instructions = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

  it('builds on Node 20', () => {
    expect(existsSync(path)).toBe(true);
    expect(instructions[0]).toMatch(/^FROM node:20(-slim)?( AS \w+)?$/);
  });

  it('installs exactly the locked dependencies with npm ci', () => {
    expect(instructions).toContain('COPY package.json package-lock.json ./');
    expect(instructions.some((l) => /^RUN npm ci\b/.test(l))).toBe(true);
    expect(instructions.some((l) => /^RUN npm (i|install)\b/.test(l))).toBe(false);
  });

  it('runs the compiled runner CLI with node itself (signals reach it), over the compiled workflows', () => {
    expect(instructions).toContain('CMD ["node", "dist/runner/cli.js", "runner", "--workflows", "./dist/workflows"]');
    expect(instructions.some((l) => /^CMD .*\b(npx|npm|tsx)\b/.test(l))).toBe(false);
    expect(instructions).toContain('RUN npm run build');
  });


  it('keeps local state out of the build context', () => {
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.git', '.leaseflow', '*.db']));
  });
});
