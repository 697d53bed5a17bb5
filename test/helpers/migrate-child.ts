/**
 * Child process for the migration race test: `tsx migrate-child.ts <url>...`. For each URL in
 * turn it opens the store, prints `ready <i>`, waits for `go` on stdin (so racers migrate at the
 * same instant, not a tsx start-up apart), migrates, closes and prints `done <i> ok` or
 * `done <i> error <message>`. Exits 0 only if every URL migrated; errors also go to stderr.
 */
import { createInterface } from 'node:readline';
import { openDatabase, type Database } from '../../engine/store/database';

async function main(): Promise<number> {
  const urls = process.argv.slice(2);
  if (urls.length === 0) throw new Error('usage: tsx test/helpers/migrate-child.ts <db-url>...');
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  let failures = 0;
  for (const [i, url] of urls.entries()) {
    let db: Database | undefined;
    let error: unknown;
    // An open that fails still reaches the barrier, so the other racers are not left waiting.
    try { db = await openDatabase(url); } catch (err) { error = err; }
    process.stdout.write(`ready ${i}\n`);
    const next = await lines.next();
    if (next.done || next.value.trim() !== 'go') throw new Error(`expected "go" on stdin for ${url}`);
    try { if (db) await db.migrate(); } catch (err) { error = err; }
    await db?.close().catch(() => undefined);
    if (error) {
      failures++;
      process.stderr.write(`migrate-child: ${url}: ${(error as Error)?.stack ?? String(error)}\n`);
      process.stdout.write(`done ${i} error ${String((error as Error)?.message ?? error).split('\n')[0]}\n`);
    } else {
      process.stdout.write(`done ${i} ok\n`);
    }
  }
  return failures === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`migrate-child: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(2);
  },
);
