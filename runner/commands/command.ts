/**
 * What every `leaseflow` command shares: its shape (name, help, options, run), where output
 * goes, and how it opens the store (the --db option, else LEASEFLOW_DB_URL, else the embedded
 * default), refusing an unmigrated store with a hint instead of a raw SQL error.
 */
import { createClient, DEFAULT_DB_URL, openDatabase, parseDbUrl, ValidationError, type Client, type Database, type PayloadCodec } from '../../engine';
import { str, UsageError, type OptionSpec, type ParsedArgs } from '../cli-args';

/** Where a command writes, and the environment it may read. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  readonly env: NodeJS.ProcessEnv;
  readonly isTTY: boolean;
  /** All of stdin (for `--input -`). */
  readStdin(): Promise<string>;
}

/** One command of the command line. */
export interface Command {
  readonly name: string;
  /** Other names that run it (`retry` for `resume`). */
  readonly aliases?: readonly string[];
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

/** The store exists but lacks migrations (exit code 5, like any unusable store). */
export class NotMigratedError extends Error {
  readonly code = 'NOT_MIGRATED';
  constructor(url: string, pending: number) {
    super(`database ${url} is not migrated (${pending} pending migration${pending === 1 ? '' : 's'}); run \`leaseflow migrate\` first`);
    this.name = 'NotMigratedError';
  }
}

/** Print `value` as one JSON document. */
export function printJson(io: Io, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}

let codecs: readonly PayloadCodec[] = [];
let namespace: string | undefined;

/** The namespace clients opened by commands are bound to (--namespace, else LEASEFLOW_NAMESPACE). */
export function useNamespace(ns: string | undefined): void {
  namespace = ns === '' ? undefined : ns;
}

/** The codec chain stores opened by commands use (runner/codec-env.ts, from the environment). */
export function useCodecs(chain: readonly PayloadCodec[]): void {
  codecs = chain;
}

/** Open an existing store (never creates one); an unmigrated store is an error that says what to run. */
export async function openStore(url: string): Promise<Database> {
  const db = await openDatabase(url, { codecs });
  try {
    const pending = await db.pendingMigrations();
    if (pending.length > 0) throw new NotMigratedError(db.url, pending.length);
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
    const client = await createClient({ db, namespace });
    try {
      return await fn(client, db);
    } finally {
      await client.close();
    }
  } finally {
    await db.close();
  }
}
