/**
 * Access control of the dashboard: one bearer token, checked on every page, API call, SSE
 * stream and /metrics. Accepted as `Authorization: Bearer <token>`, or as the `lf_token` cookie
 * that opening `/?token=<token>` sets (HttpOnly, SameSite=Strict). Compared in constant time.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Name of the session cookie. */
export const TOKEN_COOKIE = 'lf_token';

/** A fresh random token (32 hex characters). */
export function randomToken(): string {
  return randomBytes(16).toString('hex');
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The token a request presents (header first, then cookie), or undefined. */
export function presentedToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const cookie = req.headers.cookie ?? '';
  for (const part of cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === TOKEN_COOKIE) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/** True when `candidate` is the token. */
export function tokenMatches(token: string, candidate: string | undefined | null): boolean {
  return typeof candidate === 'string' && same(token, candidate);
}

/** The Set-Cookie header value that logs a browser in. */
export function tokenCookie(token: string): string {
  return `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`;
}
