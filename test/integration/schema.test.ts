/**
 * The committed migrations and the entity schemas agree, on SQLite and MariaDB/MySQL: after
 * migrate() MikroORM finds nothing to change, migrating again changes nothing, separate processes
 * racing to migrate a fresh database all succeed, keys compare exactly ('a' ≠ 'A' ≠ 'a '), and
 * every time column is DATETIME(6) on the MySQL family (the DB clock keeps microseconds).
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { openDatabase, type Database } from '../../engine/store/database';
import { MARIADB_COLLATION, MYSQL_COLLATION } from '../../engine/store/config';
import { mysqlMigrations } from '../../engine/store/migrations/mysql';
import { sqliteMigrations } from '../../engine/store/migrations/sqlite';
import { describeEachDb, freshDbUrl, fileDbName } from '../helpers/db';

const root = resolve(__dirname, '..', '..');
const TSX = join(root, 'node_modules', '.bin', 'tsx');
const CHILD = join(root, 'test', 'helpers', 'migrate-child.ts');

/** Every table leaseflow owns (SPEC §5) plus the migrator's bookkeeping table. */
const TABLES = ['distributed_locks', 'leaseflow_migration_lease', 'leaseflow_migrations', 'workflow_debounce_keys', 'workflow_dedup_keys', 'workflow_events', 'workflow_executions', 'workflow_rate_limits',
  'workflow_runners', 'workflow_schedules', 'workflow_signals', 'workflow_templates'];

/** SQLite serialises migrations with a lock file; the MySQL family with a lease row (migration-lease.ts). */
const tablesOf = (db: Database) => TABLES.filter((t) => db.dialect !== 'sqlite' || t !== 'leaseflow_migration_lease');

type EntityMeta = { tableName: string; props: { type: string; fieldNames?: string[] }[] };
const entityMetas = (db: Database) => Object.values(db.orm.getMetadata().getAll()) as unknown as EntityMeta[];

async function tables(db: Database): Promise<string[]> {
  const rows = db.dialect === 'sqlite'
    ? await db.sql.all<{ t: string }>("SELECT name AS t FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    : await db.sql.all<{ t: string }>('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE()');
  return rows.map((r) => r.t).sort();
}

async function appliedMigrations(db: Database): Promise<string[]> {
  return (await db.sql.all<{ name: string }>('SELECT name FROM leaseflow_migrations ORDER BY id')).map((r) => r.name);
}

const schemaDiff = (db: Database) => db.orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false });
const migrationNames = (db: Database) => (db.dialect === 'sqlite' ? sqliteMigrations : mysqlMigrations).map((m) => m.name);

/** Racers per round and rounds per dialect. Two racers on one database hit the SQLite migration
 *  race in about one round of five (measured on the first version of migrate()); three racers
 *  over four databases make such a regression fail nearly every run, for ~3 s per dialect. */
const RACERS = 3;
const ROUNDS = 4;

/** A migrate-child.ts process and the lines it has printed so far. */
function startChild(urls: string[]) {
  const child = spawn(TSX, [CHILD, ...urls], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  let partial = '';
  let wake: () => void = () => undefined;
  child.stdout.on('data', (b: Buffer) => {
    const parts = (partial + b.toString()).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    wake();
  });
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => { res(code); wake(); }));
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c));
  /** The first printed line starting with `prefix`; rejects if the child exits or 60 s pass first. */
  const line = async (prefix: string): Promise<string> => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const found = lines.find((l) => l.startsWith(prefix));
      if (found !== undefined) return found;
      if (exitCode !== undefined) throw new Error(`migrate-child exited ${exitCode} before "${prefix}": ${stderr}`);
      if (Date.now() > deadline) throw new Error(`migrate-child printed no "${prefix}" in 60 s: ${stderr}`);
      await new Promise<void>((res) => { wake = res; setTimeout(res, 250); });
    }
  };
  return { child, line, exited, stderr: () => stderr };
}

/**
 * RACERS processes migrate each fresh database in `urls` at the same instant (a barrier per
 * round). Returns every racer's outcome per round (`ok` or the error) and its exit code.
 */
async function raceMigrations(urls: string[]): Promise<{ outcomes: string[][]; codes: (number | null)[]; stderr: string }> {
  const racers = Array.from({ length: RACERS }, () => startChild(urls));
  try {
    const outcomes: string[][] = [];
    for (const [i] of urls.entries()) {
      await Promise.all(racers.map((r) => r.line(`ready ${i}`)));
      for (const r of racers) r.child.stdin.write('go\n');
      outcomes.push(await Promise.all(racers.map(async (r) => (await r.line(`done ${i} `)).slice(`done ${i} `.length))));
    }
    const codes = await Promise.all(racers.map((r) => r.exited));
    return { outcomes, codes, stderr: racers.map((r) => r.stderr()).join('') };
  } finally {
    for (const r of racers) if (r.child.exitCode === null) r.child.kill('SIGKILL');
  }
}

describeEachDb(__filename, 'schema', (ctx) => {
  it('has every leaseflow table after migrate()', async () => {
    expect(await tables(ctx.db)).toEqual(tablesOf(ctx.db));
    expect(entityMetas(ctx.db).map((m) => m.tableName).sort()).toEqual(TABLES.filter((t) => !t.startsWith('leaseflow_migration')));
  });

  it('the migrated schema matches the entities exactly (no pending schema diff)', async () => {
    expect(await schemaDiff(ctx.db)).toBe('');
  });

  it('has no pending migration after migrate(), each one applied exactly once', async () => {
    expect(await ctx.db.pendingMigrations()).toEqual([]);
    expect(await appliedMigrations(ctx.db)).toEqual(migrationNames(ctx.db));
  });

  it('migrating again is a no-op that keeps the data', async () => {
    await ctx.db.sql.run(`INSERT INTO workflow_templates (template_key, created_at) VALUES ('kept', ${ctx.db.sql.now})`);
    await ctx.db.migrate();
    await ctx.db.migrate();
    expect(await appliedMigrations(ctx.db)).toEqual(migrationNames(ctx.db));
    expect(await ctx.db.pendingMigrations()).toEqual([]);
    expect(await schemaDiff(ctx.db)).toBe('');
    expect(await ctx.db.sql.all("SELECT template_key FROM workflow_templates WHERE template_key = 'kept'")).toHaveLength(1);
  });

  it('a fresh database lists every migration as pending', async () => {
    const db = await openDatabase(await freshDbUrl(ctx.kind, fileDbName(__filename, '_pending')));
    try {
      expect(await db.pendingMigrations()).toEqual(migrationNames(db));
    } finally {
      await db.close();
    }
  });

  it('processes migrating one fresh database at the same instant all succeed, and the schema is complete', async () => {
    const urls: string[] = [];
    for (let i = 0; i < ROUNDS; i++) urls.push(await freshDbUrl(ctx.kind, fileDbName(__filename, `_race${i}`)));
    const { outcomes, codes, stderr } = await raceMigrations(urls);
    expect({ outcomes, stderr }).toEqual({ outcomes: urls.map(() => Array(RACERS).fill('ok')), stderr: '' });
    expect(codes).toEqual(Array(RACERS).fill(0));
    for (const url of urls) {
      const db = await openDatabase(url);
      try {
        expect(await tables(db)).toEqual(tablesOf(db));
        expect(await appliedMigrations(db)).toEqual(migrationNames(db));
        expect(await db.pendingMigrations()).toEqual([]);
        expect(await schemaDiff(db)).toBe('');
      } finally {
        await db.close();
      }
    }
  });

  it("compares lock keys exactly: 'a', 'A' and 'a ' are three keys, and 'a' finds one", async () => {
    const { sql } = ctx.db;
    const insert = (key: string) => sql.run(
      `INSERT INTO distributed_locks (lock_key, owner, token, hold_count, expires_at, created_at, updated_at)
       VALUES (?, 'schema-test', 1, 1, ${sql.now}, ${sql.now}, ${sql.now})`, [key]);
    for (const key of ['a', 'A', 'a ']) await insert(key);
    const keys = await sql.all<{ k: string }>("SELECT lock_key AS k FROM distributed_locks WHERE owner = 'schema-test' ORDER BY lock_key");
    expect(keys.map((r) => r.k).sort()).toEqual(['A', 'a', 'a ']);
    const exact = await sql.all<{ k: string }>("SELECT lock_key AS k FROM distributed_locks WHERE lock_key = 'a'");
    expect(exact).toEqual([{ k: 'a' }]);
    // The unique key holds on the exact value.
    await expect(insert('a')).rejects.toThrow();
  });

  // SQLite has no column precision or collation to check: MikroORM stores datetimes there as
  // integer epoch ms, and its default BINARY collation already compares exactly (test above).
  if (ctx.kind === 'mysql') it('every datetime column is DATETIME(6) and every text column NO PAD binary', async () => {
    const expected = entityMetas(ctx.db).flatMap((m) => m.props.filter((p) => p.type === 'datetime')
      .map((p) => `${m.tableName}.${p.fieldNames![0]}`)).sort();
    expect(expected.length).toBeGreaterThanOrEqual(14);
    // leaseflow_migrations is MikroORM's own table (executed_at is datetime(0)); it holds no clock we compare.
    const temporal = await ctx.db.sql.all<{ t: string; c: string; dt: string; p: number | null }>(
      `SELECT table_name AS t, column_name AS c, data_type AS dt, datetime_precision AS p FROM information_schema.columns
        WHERE table_schema = DATABASE() AND table_name NOT IN ('leaseflow_migrations', 'leaseflow_migration_lease')
          AND data_type IN ('datetime', 'timestamp', 'date', 'time', 'year')`);
    expect(temporal.map((r) => `${r.t}.${r.c}`).sort()).toEqual(expected);
    for (const r of temporal) expect({ column: `${r.t}.${r.c}`, type: r.dt, precision: Number(r.p) })
      .toEqual({ column: `${r.t}.${r.c}`, type: 'datetime', precision: 6 });

    const collation = ctx.db.dialect === 'mariadb' ? MARIADB_COLLATION : MYSQL_COLLATION;
    const text = await ctx.db.sql.all<{ t: string; c: string; coll: string }>(
      `SELECT table_name AS t, column_name AS c, collation_name AS coll FROM information_schema.columns
        WHERE table_schema = DATABASE() AND table_name NOT IN ('leaseflow_migrations', 'leaseflow_migration_lease') AND collation_name IS NOT NULL`);
    expect(text.length).toBeGreaterThan(0);
    expect(text.filter((r) => r.coll !== collation).map((r) => `${r.t}.${r.c} ${r.coll}`)).toEqual([]);
  });
});
