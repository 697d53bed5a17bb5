/**
 * What every `leaseflow` command shares: its shape (name, help, options, run), where output
 * goes, and how it opens the store (the --db option, else LEASEFLOW_DB_URL, else the embedded
 * default), refusing an unmigrated store with a hint instead of a raw SQL error.
 */
import { createClient, DEFAULT_DB_URL, openDatabase, parseDbUrl, ValidationError, type Client, type Database } from '../../engine';
import { str, UsageError, type OptionSpec, type ParsedArgs } from '../cli-args';

/** Where a command writes, and the environment it may read. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  readonly env: NodeJS.ProcessEnv;
  readonly isTTY: boolean;
}

/** One command of the command line. */
export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** `leaseflow name <args> [options]` */
  readonly usage: string;
  readonly description: string;
  readonly options: OptionSpec;
  /** Runs the command; resolves to the exit code (default 0). */
  run(args: ParsedArgs, io: Io): Promise<number | void>;
}

/** The store URL a command uses. */
export function dbUrl(args: ParsedArgs, io: Io): string {
  const url = str(args, 'db') ?? io.env.LEASEFLOW_DB_URL ?? DEFAULT_DB_URL;
  try {
    parseDbUrl(url);
  } catch (err) {
    if (err instanceof ValidationError) throw new UsageError(err.message);
    throw err;
  }
  return url;
}

/** Open the store; an unmigrated store is an error that says what to run. */
export async function openStore(url: string): Promise<Database> {
  const db = await openDatabase(url);
  try {
    const pending = await db.pendingMigrations();
    if (pending.length > 0) {
      throw new Error(`database ${db.url} is not migrated (${pending.length} pending migration${pending.length === 1 ? '' : 's'}); run \`leaseflow migrate\` first`);
    }
    return db;
  } catch (err) {
    await db.close();
    throw err;
  }
}

/** Run `fn` with a client on a migrated store, closing both afterwards. */
export async function withClient<T>(url: string, fn: (client: Client, db: Database) => Promise<T>): Promise<T> {
  const db = await openStore(url);
  try {
    const client = await createClient({ db });
    try {
      return await fn(client, db);
    } finally {
      await client.close();
    }
  } finally {
    await db.close();
  }
}
