/**
 * The bench's own view of the MySQL-family server, through the `mariadb` driver directly (not
 * the engine): recreate the bench database, read GLOBAL STATUS counters, and run the few
 * monitoring queries the sections need. The monitor counts the statements it sends itself, so
 * they can be subtracted from the server's Questions/Com_select deltas.
 */
import * as mariadb from 'mariadb';
import { parseDbUrl } from '../../engine/store/dialect';
import { counterDelta } from './stats';

/** GLOBAL STATUS counters the bench reads around each workload window. */
export const COUNTERS = [
  'Questions', 'Com_select', 'Com_insert', 'Com_insert_select', 'Com_update', 'Com_delete', 'Com_begin', 'Com_commit',
  'Com_rollback', 'Handler_commit', 'Handler_rollback', 'Innodb_log_writes', 'Innodb_data_fsyncs', 'Innodb_rows_read',
  'Innodb_buffer_pool_reads', 'Innodb_buffer_pool_read_requests',
] as const;

/** Driver options for `url` (with or without its database). */
export function connectionConfig(url: string, withDatabase = true): mariadb.ConnectionConfig {
  const s = parseDbUrl(url);
  return {
    host: s.host, port: s.port, user: s.user, password: s.password || undefined,
    database: withDatabase ? s.dbName : undefined,
    bigIntAsNumber: true, decimalAsNumber: true, insertIdAsNumber: true, dateStrings: true,
    timezone: '+00:00', multipleStatements: false,
  };
}

/** Drop and re-create the bench database (it is the bench's own: every run starts empty). */
export async function recreateDatabase(url: string): Promise<void> {
  const { dbName } = parseDbUrl(url);
  const conn = await mariadb.createConnection(connectionConfig(url, false));
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
    await conn.query(`CREATE DATABASE \`${dbName}\` CHARACTER SET utf8mb4`);
  } finally {
    await conn.end();
  }
}

/** Create the bench database when it does not exist (standalone tools; never drops). */
export async function ensureDatabase(url: string): Promise<void> {
  const { dbName } = parseDbUrl(url);
  const conn = await mariadb.createConnection(connectionConfig(url, false));
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${dbName}\` CHARACTER SET utf8mb4`);
  } finally {
    await conn.end();
  }
}

/** SQL for a UTC DATETIME(6) expression as epoch microseconds (time-zone free, exact). */
export function epochUs(expr: string): string {
  return `TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', ${expr})`;
}

/** One monitoring connection to the bench database. */
export class Monitor {
  #conn: mariadb.Connection;
  /** Statements this monitor sent (they count in Questions). */
  sent = 0;
  /** Of which SELECTs (they count in Com_select). */
  selects = 0;

  private constructor(conn: mariadb.Connection) {
    this.#conn = conn;
  }

  static async open(url: string): Promise<Monitor> {
    return new Monitor(await mariadb.createConnection(connectionConfig(url)));
  }

  /** Run one statement. */
  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    this.sent++;
    if (/^\s*(SELECT|WITH)\b/i.test(sql)) this.selects++;
    const res = await this.#conn.query(sql, params);
    return (Array.isArray(res) ? res : [res]) as T[];
  }

  /** One number from the first row. */
  async scalar(sql: string, params: unknown[] = []): Promise<number | null> {
    const [row] = await this.query<Record<string, unknown>>(sql, params);
    const v = row ? Object.values(row)[0] : null;
    return v === null || v === undefined ? null : Number(v);
  }

  /** A snapshot of the GLOBAL STATUS counters (plus what this monitor has sent so far). */
  async counters(): Promise<Snapshot> {
    const rows = await this.query<{ Variable_name: string; Value: string }>(
      `SHOW GLOBAL STATUS WHERE Variable_name IN (${COUNTERS.map(() => '?').join(', ')})`, [...COUNTERS],
    );
    const values: Record<string, number> = {};
    for (const r of rows) values[r.Variable_name] = Number(r.Value);
    return { values, sent: this.sent, selects: this.selects };
  }

  /** The database clock (UTC) in epoch ms, with microseconds. */
  async dbNowMs(): Promise<number> {
    return ((await this.scalar(`SELECT ${epochUs('UTC_TIMESTAMP(6)')} AS t`)) as number) / 1000;
  }

  async close(): Promise<void> {
    await this.#conn.end().catch(() => undefined);
  }
}

/** GLOBAL STATUS values and the monitor's own statement count at one instant. */
export interface Snapshot {
  values: Record<string, number>;
  sent: number;
  selects: number;
}

/**
 * The server's counter deltas between two snapshots, minus the statements the monitor itself
 * sent in between (the SHOW STATUS of `after` included). Other databases on the same server
 * still add noise: the bench cannot tell their statements apart (performance_schema is off).
 */
export function serverDelta(before: Snapshot, after: Snapshot): Record<string, number> {
  const d = counterDelta(before.values, after.values);
  const own = after.sent - before.sent;
  if (d.Questions !== undefined) d.Questions -= own;
  if (d.Com_select !== undefined) d.Com_select -= after.selects - before.selects;
  return d;
}
