/**
 * One database per test file, on every dialect under test. `describeEachDb` runs a suite
 * once on SQLite (a fresh temp file) and once on MariaDB/MySQL (a fresh database named after
 * the file and the checkout), each migrated; suites never see each other's rows, and two
 * checkouts testing against one server at once (a CI clone next to a working tree) never
 * drop each other's databases.
 */
import { createHash } from 'node:crypto';
import { rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { openDatabase, type Database } from '../../engine/store/database';

/** Base URL of the test server, without a database. */
export function mysqlBaseUrl(): string {
  return (process.env.LEASEFLOW_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306').replace(/\/+$/, '');
}

/** The dialects this run covers. */
export function testDialects(): ('sqlite' | 'mysql')[] {
  const state = process.env.LEASEFLOW_TEST_MYSQL_STATE;
  return state === 'down' || state === 'off' ? ['sqlite'] : ['sqlite', 'mysql'];
}

/** Six hex digits naming this checkout; MySQL database names are server-wide. */
const CHECKOUT_TAG = createHash('sha1').update(resolve(__dirname, '..', '..')).digest('hex').slice(0, 6);

/**
 * A URL for a fresh, per-file database of `kind`: dropped and re-created empty (an empty SQLite
 * file), so it exists (opening never creates one) but holds no tables.
 */
export async function freshDbUrl(kind: 'sqlite' | 'mysql', name: string): Promise<string> {
  const safe = name.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 48);
  if (kind === 'sqlite') {
    const dir = join(tmpdir(), 'leaseflow-tests');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${safe}-${process.pid}.db`);
    for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
    writeFileSync(file, '');
    return `sqlite:${file}`;
  }
  const dbName = `lft_${CHECKOUT_TAG}_${safe}`;
  const admin = await openDatabase(`${mysqlBaseUrl()}/leaseflow_test_probe`, { createDatabase: true });
  try {
    await admin.sql.run(`DROP DATABASE IF EXISTS \`${dbName}\``);
    await admin.sql.run(`CREATE DATABASE \`${dbName}\` CHARACTER SET utf8mb4`);
  } finally {
    await admin.close();
  }
  return `${mysqlBaseUrl()}/${dbName}`;
}

/** The per-file database name for a test file. */
export function fileDbName(testFile: string, suffix = ''): string {
  return basename(testFile).replace(/\.test\.ts$/, '') + suffix;
}

/** Context handed to a suite body: its URL and an opened, migrated handle (in beforeAll). */
export interface DbSuite {
  kind: 'sqlite' | 'mysql';
  url: string;
  db: Database;
}

/**
 * Run `body` once per dialect. The handle is opened and migrated in beforeAll and closed in
 * afterAll; read `ctx.db`/`ctx.url` inside tests (not at describe time).
 */
export function describeEachDb(testFile: string, title: string, body: (ctx: DbSuite) => void): void {
  for (const kind of testDialects()) {
    describe(`${title} [${kind}]`, () => {
      const ctx = { kind } as DbSuite;
      beforeAll(async () => {
        ctx.url = await freshDbUrl(kind, fileDbName(testFile));
        ctx.db = await openDatabase(ctx.url);
        await ctx.db.migrate();
      });
      afterAll(async () => {
        await ctx.db?.close();
      });
      body(ctx);
    });
  }
}
