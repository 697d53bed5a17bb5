/**
 * Connection URLs → dialects. One URL configures the store: `mysql://…` (MySQL 8),
 * `mariadb://…` (MariaDB 10.6+, MariaDB driver), `sqlite:<file>` (embedded default).
 * Pure: parses and validates, opens nothing.
 */
import { ValidationError } from '../errors';

/** The SQL family a store speaks. `mariadb` and `mysql` share SQL and migrations. */
export type Dialect = 'mysql' | 'mariadb' | 'sqlite';

/** The embedded default store. */
export const DEFAULT_DB_URL = 'sqlite:./.leaseflow/leaseflow.db';

/** A parsed connection URL. */
export interface ConnectionSettings {
  dialect: Dialect;
  /** MySQL family: host, port, user, password, database. */
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  dbName: string;
  /** The URL with any password masked, for logs. */
  display: string;
  /** Set when the server turned out to be a Galera node (openDatabase): sessions get wsrep_sync_wait. */
  galera?: boolean;
}

/** Parse a store URL; throws ValidationError naming what is wrong. */
export function parseDbUrl(url: string): ConnectionSettings {
  if (typeof url !== 'string' || url.trim() === '') throw new ValidationError('database URL is empty', 'db');
  if (url.startsWith('sqlite:')) {
    let file = url.slice('sqlite:'.length);
    if (file.startsWith('//')) file = file.slice(2);
    if (file === '') throw new ValidationError(`database URL "${url}" names no SQLite file`, 'db');
    return { dialect: 'sqlite', dbName: file, display: url };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError(`database URL "${maskUrlText(url)}" is not a valid URL (expected mysql://, mariadb:// or sqlite:)`, 'db');
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  if (scheme !== 'mysql' && scheme !== 'mariadb') {
    throw new ValidationError(`database URL scheme "${scheme}" is not supported (expected mysql://, mariadb:// or sqlite:)`, 'db');
  }
  const dbName = decodeUrlPart(parsed.pathname.replace(/^\//, ''), 'database name', parsed);
  if (!/^[A-Za-z0-9_$]{1,64}$/.test(dbName)) {
    throw new ValidationError(`database URL "${mask(parsed)}" must name a database of letters, digits, _ or $`, 'db');
  }
  return {
    dialect: scheme,
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 3306,
    user: decodeUrlPart(parsed.username || 'root', 'user name', parsed),
    password: decodeUrlPart(parsed.password, 'password', parsed),
    dbName,
    display: mask(parsed),
  };
}

/**
 * Mask the password of anything that looks like `scheme://user:password@host` in `text`, even
 * when it does not parse as a URL (an unescaped `@` or `/` in the password).
 */
export function maskUrlText(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)(.*)@(?=[^@]*$)/i, '$1***@');
}

/** A percent-encoded part of the URL, decoded; a bad escape (`%s`) names the part, never its value. */
function decodeUrlPart(text: string, what: string, u: URL): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new ValidationError(`database URL "${mask(u)}" has a malformed %-escape in its ${what} (write % as %25)`, 'db');
  }
}

function mask(u: URL): string {
  const copy = new URL(u.toString());
  if (copy.password) copy.password = '***';
  return copy.toString();
}
