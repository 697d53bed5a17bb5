/**
 * Galera detection and the settings leaseflow relies on there. Checked once when a store opens:
 * the node is a Galera node (`wsrep_on` with a provider) → `binlog_format` must be ROW, the
 * node must be in the Primary component and ready, auto-increment locking interleaved, and every
 * table of the database must be InnoDB with a primary key (Galera certifies rows by key). Any
 * problem is one GaleraConfigError naming each setting. On Galera every leaseflow session also
 * sets `wsrep_sync_wait` (reads, updates, deletes and inserts; config.ts), so a statement sees
 * every write committed anywhere in the cluster before it; the check proves that setting took.
 */
import { GaleraConfigError } from '../errors';

/** What the check reads from a server (pure input of `galeraProblems`). */
export interface GaleraFacts {
  /** `wsrep_on` = ON with a provider loaded. */
  galera: boolean;
  binlogFormat: string;
  /** `wsrep_ready` status. */
  ready: boolean;
  /** `wsrep_cluster_status` (Primary, non-Primary, Disconnected). */
  clusterStatus: string;
  autoincLockMode: number;
  /** Tables of the database without a primary key. */
  withoutPrimaryKey: string[];
  /** Tables of the database that are not InnoDB (Galera replicates InnoDB only). */
  notInnoDb: string[];
}

type All = (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

/** Read the facts; `galera: false` (and nothing else read) on a server that is not a Galera node. */
export async function readGaleraFacts(all: All, dbName: string): Promise<GaleraFacts> {
  const vars = new Map<string, string>();
  const rows = await all(
    "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('wsrep_on', 'wsrep_provider', 'binlog_format', 'innodb_autoinc_lock_mode')", []);
  for (const r of rows) vars.set(String(r.Variable_name ?? r.variable_name).toLowerCase(), String(r.Value ?? r.value));
  const galera = vars.get('wsrep_on') === 'ON' && (vars.get('wsrep_provider') ?? 'none') !== 'none';
  const facts: GaleraFacts = {
    galera, binlogFormat: vars.get('binlog_format') ?? '', ready: true, clusterStatus: 'Primary',
    autoincLockMode: Number(vars.get('innodb_autoinc_lock_mode') ?? 2), withoutPrimaryKey: [], notInnoDb: [],
  };
  if (!galera) return facts;
  const status = new Map<string, string>();
  for (const r of await all("SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_cluster_status')", [])) {
    status.set(String(r.Variable_name ?? r.variable_name).toLowerCase(), String(r.Value ?? r.value));
  }
  facts.ready = status.get('wsrep_ready') === 'ON';
  facts.clusterStatus = status.get('wsrep_cluster_status') ?? 'unknown';
  const tables = await all(
    'SELECT t.TABLE_NAME AS name, t.ENGINE AS engine, ' +
      "(SELECT COUNT(*) FROM information_schema.TABLE_CONSTRAINTS c WHERE c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME AND c.CONSTRAINT_TYPE = 'PRIMARY KEY') AS pk " +
      "FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA = ? AND t.TABLE_TYPE = 'BASE TABLE' ORDER BY t.TABLE_NAME",
    [dbName],
  );
  for (const t of tables) {
    if (Number(t.pk) === 0) facts.withoutPrimaryKey.push(String(t.name));
    if (String(t.engine).toLowerCase() !== 'innodb') facts.notInnoDb.push(String(t.name));
  }
  return facts;
}

/** Every reason the facts make the node unusable, each naming what to change. Pure. */
export function galeraProblems(f: GaleraFacts): string[] {
  if (!f.galera) return [];
  const out: string[] = [];
  if (f.binlogFormat.toUpperCase() !== 'ROW') out.push(`binlog_format is ${f.binlogFormat || 'unset'} (set binlog_format=ROW)`);
  if (!f.ready || f.clusterStatus !== 'Primary') out.push(`node is not ready in the Primary component (wsrep_ready=${f.ready ? 'ON' : 'OFF'}, wsrep_cluster_status=${f.clusterStatus})`);
  if (f.autoincLockMode !== 2) out.push(`innodb_autoinc_lock_mode is ${f.autoincLockMode} (set it to 2)`);
  if (f.withoutPrimaryKey.length) out.push(`tables without a primary key: ${f.withoutPrimaryKey.join(', ')} (Galera certifies rows by key)`);
  if (f.notInnoDb.length) out.push(`tables not on InnoDB: ${f.notInnoDb.join(', ')} (Galera replicates InnoDB only)`);
  return out;
}

/** Throw GaleraConfigError when the facts list any problem. */
export function assertGaleraUsable(f: GaleraFacts, endpoint: string): void {
  const problems = galeraProblems(f);
  if (problems.length) throw new GaleraConfigError(endpoint, problems);
}

/**
 * The causality bits every leaseflow session on a Galera node sets (config.ts): READ (1),
 * UPDATE/DELETE (2), INSERT/REPLACE (4). Reads must see a write committed on another node just
 * before, and so must fenced writes, or a holder whose claim landed through node 2 would fail its
 * fence on node 1 for want of the applied claim. Cheap on a single-writer cluster (nothing to apply).
 */
export const SYNC_WAIT_BITS = 7;
export const GALERA_SESSION_SQL = `SET SESSION wsrep_sync_wait = @@global.wsrep_sync_wait | ${SYNC_WAIT_BITS}`;

/** Check on a pooled connection that the session setting took (a proxy may reset sessions). */
export async function assertSyncWait(all: All, endpoint: string): Promise<void> {
  const [row] = await all('SELECT @@session.wsrep_sync_wait AS w', []);
  if ((Number(row?.w) & SYNC_WAIT_BITS) !== SYNC_WAIT_BITS) {
    throw new GaleraConfigError(endpoint, [`wsrep_sync_wait is ${String(row?.w)} on leaseflow's session (needs bits ${SYNC_WAIT_BITS}: is a proxy resetting session variables?)`]);
  }
}
