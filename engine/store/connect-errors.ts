/**
 * Driver errors of a failed connect → leaseflow's typed store errors. Invariant: what comes out
 * names the endpoint (`host:port`) and the user, never the password; an error that is not a
 * connection failure is returned unchanged (its message is never rewritten).
 */
import { LeaseflowError, StoreAuthError, StoreUnavailableError } from '../errors';
import type { ConnectionSettings } from './dialect';
import { isConnectionError } from './sql';

const REFUSED = new Set(['ECONNREFUSED', 'ER_CONNECTION_REFUSED']);
const NOT_FOUND = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL']);
const UNREACHABLE = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN']);
const TIMED_OUT = new Set(['ETIMEDOUT', 'ER_CONNECTION_TIMEOUT', 'ER_GET_CONNECTION_TIMEOUT', 'ER_SOCKET_TIMEOUT', 'ER_CONNECTION_ALREADY_CLOSED']);
/** 1045 access denied, 1698 access denied without password, 1044 no access to the database. */
const AUTH_ERRNOS = new Set([1044, 1045, 1698]);

/** The typed form of a connect failure to `settings`, or `err` itself. */
export function toConnectError(err: unknown, settings: ConnectionSettings, connectTimeoutMs: number): unknown {
  // Duck-typed: errors from Node's own sockets may come from another realm (jest's sandbox).
  if (err instanceof LeaseflowError || typeof err !== 'object' || err === null || typeof (err as Error).message !== 'string') return err;
  const endpoint = `${settings.host}:${settings.port}`;
  const code = String((err as { code?: unknown }).code ?? '');
  const errno = Number((err as { errno?: unknown }).errno);
  const message = (err as Error).message;
  const cause = { cause: err };
  if (AUTH_ERRNOS.has(errno) || code.startsWith('ER_ACCESS_DENIED') || code === 'ER_DBACCESS_DENIED_ERROR') {
    return new StoreAuthError(endpoint, settings.user ?? '', cause);
  }
  if (REFUSED.has(code) || /ECONNREFUSED/.test(message)) return new StoreUnavailableError(endpoint, 'connection refused (is the server running?)', cause);
  if (NOT_FOUND.has(code) || /ENOTFOUND|EAI_AGAIN/.test(message)) return new StoreUnavailableError(endpoint, `host "${settings.host}" not found`, cause);
  if (UNREACHABLE.has(code)) return new StoreUnavailableError(endpoint, 'host unreachable', cause);
  if (TIMED_OUT.has(code) || /timeout|timed out|ETIMEDOUT/i.test(message)) {
    return new StoreUnavailableError(endpoint, `no answer within the connect timeout (${connectTimeoutMs} ms)`, cause);
  }
  if (code === 'ECONNRESET' || code === 'PROTOCOL_CONNECTION_LOST' || code === 'ER_SERVER_SHUTDOWN') {
    return new StoreUnavailableError(endpoint, `connection lost (${code})`, cause);
  }
  // A proxy that accepts the TCP connection but has no healthy server behind it (HAProxy with
  // every node DOWN) closes it before the server's greeting: 45009 in the MariaDB driver.
  if (code === 'ER_SOCKET_UNEXPECTED_CLOSE' || errno === 45009) {
    return new StoreUnavailableError(endpoint, 'the connection was closed before the server answered (a proxy with no server up, or a server going down)', cause);
  }
  return err;
}

/**
 * After a successful open, a connection that breaks while a runner joins (migrating,
 * registering) is the store going away: the typed StoreUnavailableError, so a process can wait
 * for it. Anything else is returned unchanged.
 */
export function lostToUnavailable(err: unknown, display: string): unknown {
  if (err instanceof LeaseflowError || !isConnectionError(err)) return err;
  return new StoreUnavailableError(display, `connection lost (${(err as Error).message})`, { cause: err });
}
