/**
 * Store safety at open: a missing database or SQLite file is a DatabaseNotFoundError and nothing
 * is created unless `createDatabase` is set; connection failures are typed (StoreAuthError,
 * StoreUnavailableError naming host:port, bounded by connectTimeout); the password never appears
 * in a message or a log line.
 */
import { existsSync, rmSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { DatabaseNotFoundError, openDatabase, StoreAuthError, StoreUnavailableError, ValidationError } from '../../engine';
import { mysqlBaseUrl, testDialects } from '../helpers/db';

const SECRET = 'hunter2-Secret';

/** A pino logger that collects every line, and the collected text. */
function capture(): { logger: pino.Logger; text: () => string } {
  let text = '';
  const stream = new Writable({ write(chunk: Buffer, _enc, cb) { text += chunk.toString(); cb(); } });
  return { logger: pino({ level: 'trace' }, stream), text: () => text };
}

async function openError(url: string, options: Parameters<typeof openDatabase>[1] = {}): Promise<Error> {
  let db: Awaited<ReturnType<typeof openDatabase>>;
  try {
    db = await openDatabase(url, options);
  } catch (err) {
    return err as Error;
  }
  await db.close();
  throw new Error(`expected opening ${url} to fail`);
}

describe('store safety [sqlite]', () => {
  const dir = join(tmpdir(), 'leaseflow-tests', `store-safety-${process.pid}`);
  beforeAll(() => { rmSync(dir, { recursive: true, force: true }); });
  afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

  test('a missing SQLite file is "does not exist", and neither the file nor its folder is created', async () => {
    const file = join(dir, 'typo', 'leaseflow.db');
    const err = await openError(`sqlite:${file}`);
    expect(err).toBeInstanceOf(DatabaseNotFoundError);
    expect(err).toMatchObject({ code: 'DATABASE_NOT_FOUND' });
    expect(err.message).toContain(`database ${file} does not exist`);
    expect(existsSync(file)).toBe(false);
    expect(existsSync(join(dir, 'typo'))).toBe(false);
  });

  test('createDatabase creates the file (and folder); it then opens without it', async () => {
    const file = join(dir, 'made', 'leaseflow.db');
    const db = await openDatabase(`sqlite:${file}`, { createDatabase: true });
    await db.migrate();
    await db.close();
    expect(existsSync(file)).toBe(true);
    const again = await openDatabase(`sqlite:${file}`);
    expect(await again.pendingMigrations()).toEqual([]);
    await again.close();
  });

  test('an in-memory SQLite store opens without createDatabase', async () => {
    mkdirSync(dir, { recursive: true });
    const db = await openDatabase('sqlite::memory:');
    await db.migrate();
    await db.close();
  });
});

describe('store safety [URL]', () => {
  test('a URL that fails to parse is a ValidationError that masks the password', async () => {
    const err = await openError(`mysql://root:${SECRET}@127.0.0.1:33o6/leaseflow`);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toContain('mysql://root:***@127.0.0.1:33o6/leaseflow');
    expect(err.message).not.toContain(SECRET);
  });

  test('a password with a bad %-escape is a ValidationError naming the part, not its value', async () => {
    const err = await openError('mysql://root:pa%ss-Secret@127.0.0.1:3306/leaseflow');
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toBe('database URL "mysql://root:***@127.0.0.1:3306/leaseflow" has a malformed %-escape in its password (write % as %25)');
  });

  test('a password with "@" and "/" that breaks the URL is still masked', async () => {
    const err = await openError(`mysql://root:${SECRET}/x@y@127.0.0.1:3306/leaseflow`);
    expect(err.message).not.toContain(SECRET);
  });
});

if (testDialects().includes('mysql')) {
  describe('store safety [mysql]', () => {
    const base = mysqlBaseUrl();
    const missing = 'lft_h10_store_safety_missing';
    const server = new URL(base);

    async function schemaExists(name: string): Promise<boolean> {
      const admin = await openDatabase(`${base}/leaseflow_test_probe`);
      try {
        return (await admin.sql.all('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [name])).length > 0;
      } finally {
        await admin.close();
      }
    }

    beforeAll(async () => {
      const admin = await openDatabase(`${base}/leaseflow_test_probe`, { createDatabase: true });
      await admin.sql.run(`DROP DATABASE IF EXISTS \`${missing}\``);
      await admin.close();
    });
    afterAll(async () => {
      const admin = await openDatabase(`${base}/leaseflow_test_probe`);
      await admin.sql.run(`DROP DATABASE IF EXISTS \`${missing}\``);
      await admin.close();
    });

    test('a mistyped database name is "database X does not exist" and no database is created', async () => {
      for (const url of [`${base}/${missing}`, `${base.replace(/^mysql:/, 'mariadb:')}/${missing}`]) {
        const err = await openError(url);
        expect(err).toBeInstanceOf(DatabaseNotFoundError);
        expect(err.message).toContain(`database ${missing} does not exist on ${server.hostname}:${server.port || 3306}`);
      }
      expect(await schemaExists(missing)).toBe(false);
    });

    test('createDatabase creates the database', async () => {
      const db = await openDatabase(`${base}/${missing}`, { createDatabase: true });
      await db.close();
      expect(await schemaExists(missing)).toBe(true);
    });

    test('a wrong password is a StoreAuthError naming user and host:port, never the password, in messages or logs', async () => {
      for (const scheme of ['mysql', 'mariadb']) {
        const log = capture();
        const err = await openError(`${scheme}://root:${SECRET}@${server.hostname}:${server.port || 3306}/leaseflow_test_probe`, { logger: log.logger });
        expect(err).toBeInstanceOf(StoreAuthError);
        expect(err).toMatchObject({ code: 'STORE_AUTH', endpoint: `${server.hostname}:${server.port || 3306}` });
        expect(err.message).toMatch(/user "root"/);
        expect(`${err.message}\n${err.stack}\n${String((err as { cause?: Error }).cause?.message)}\n${log.text()}`).not.toContain(SECRET);
      }
    });

    test('a closed port is a StoreUnavailableError naming host:port, at once', async () => {
      for (const scheme of ['mysql', 'mariadb']) {
        const log = capture();
        const err = await openError(`${scheme}://root:${SECRET}@127.0.0.2:1/leaseflow`, { logger: log.logger });
        expect(err).toBeInstanceOf(StoreUnavailableError);
        expect(err).toMatchObject({ code: 'STORE_UNAVAILABLE', endpoint: '127.0.0.2:1' });
        expect(err.message).toContain('store at 127.0.0.2:1 is unavailable: connection refused');
        expect(`${err.message}\n${log.text()}`).not.toContain(SECRET);
      }
    });

    test('a host that accepts but never answers is a StoreUnavailableError after connectTimeout, not a hang', async () => {
      // A blackhole without iptables: a local socket that accepts and stays silent.
      const sockets: net.Socket[] = [];
      const silent = net.createServer((s) => { sockets.push(s); });
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      const port = (silent.address() as net.AddressInfo).port;
      try {
        for (const scheme of ['mysql', 'mariadb']) {
          const started = Date.now();
          const err = await openError(`${scheme}://root:${SECRET}@127.0.0.1:${port}/leaseflow`, { connectTimeout: '500ms' });
          expect(err).toBeInstanceOf(StoreUnavailableError);
          expect(err.message).toBe(`store at 127.0.0.1:${port} is unavailable: no answer within the connect timeout (500 ms)`);
          expect(Date.now() - started).toBeLessThan(15_000); // bounded (generous: a loaded machine)
        }
      } finally {
        for (const s of sockets) s.destroy();
        await new Promise((r) => silent.close(r));
      }
    });

    test('connectTimeout is validated once, naming the option', async () => {
      const err = await openError(`${base}/leaseflow_test_probe`, { connectTimeout: 'soon' });
      expect(err).toBeInstanceOf(ValidationError);
      expect(err.message).toMatch(/connectTimeout/);
    });
  });
}
