/**
 * `startDashboard`: the web dashboard in this process (node:http, no framework). Serves the page
 * and its vendored modules (dashboard/static), the JSON API, the live SSE stream and /metrics.
 * Bound to 127.0.0.1 unless told otherwise; every route but the static assets needs the token
 * (random unless given). Talks to the engine only through engine/index.ts.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createClient, createClusterMetrics, createInspector, openDatabase, silentLogger, ValidationError, type DbInput, type Logger,
} from '../engine';
import * as api from './api';
import { presentedToken, randomToken, tokenCookie, tokenMatches } from './auth';
import { HttpError, readJson, sendError, sendJson, sendStatic } from './http-util';
import { LiveHub } from './live';

/** Options of `startDashboard`. */
export interface DashboardOptions {
  /** Store URL or opened handle. @default the embedded SQLite file */
  db?: DbInput;
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 0 (any free port) */
  port?: number;
  /** Access token. @default random (16 bytes, hex) */
  token?: string;
  /** Live refresh period. @default 1000 */
  tickMs?: number;
  logger?: Logger;
  /** The namespace whose executions the list and detail views show (cluster views are store-wide). @default 'default' */
  namespace?: string;
}

/** A running dashboard. */
export interface Dashboard {
  /** Base URL (no token). */
  readonly url: string;
  /** The URL to open in a browser: logs in with the token and drops it from the address bar. */
  readonly loginUrl: string;
  readonly token: string;
  close(): Promise<void>;
}

type Route = (req: IncomingMessage, res: ServerResponse, parts: string[], query: URLSearchParams) => Promise<unknown>;

/** Start the dashboard; resolves once it listens. */
export async function startDashboard(options: DashboardOptions = {}): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? randomToken();
  if (typeof token !== 'string' || token.length < 8) throw new ValidationError('token must be at least 8 characters', 'token');
  const tickMs = options.tickMs ?? 1000;
  if (!Number.isFinite(tickMs) || tickMs < 100) throw new ValidationError('tickMs must be at least 100', 'tickMs');
  const log = (options.logger ?? silentLogger()).child({ component: 'dashboard' });
  const owned = typeof options.db !== 'object';
  const db = typeof options.db === 'object' ? options.db : await openDatabase(options.db, { logger: log });
  const client = await createClient({ db, logger: log, namespace: options.namespace });
  const inspector = await createInspector(db, { namespace: options.namespace });
  // Its own inspector: lease moves are reported once per inspector, and they belong to the live view.
  const metricsInspector = await createInspector(db);
  const metrics = createClusterMetrics(metricsInspector);
  const live = new LiveHub(inspector, tickMs, log);
  const ctx = { client, inspector };

  const routes: { method: string; pattern: RegExp; run: Route }[] = [
    { method: 'GET', pattern: /^api\/executions$/, run: (_q, _r, _p, query) => api.listExecutions(ctx, query) },
    { method: 'GET', pattern: /^api\/counts$/, run: () => api.counts(ctx) },
    { method: 'GET', pattern: /^api\/snapshot$/, run: () => inspector.snapshot() },
    { method: 'GET', pattern: /^api\/executions\/[^/]+$/, run: (_q, _r, p) => api.executionDetail(ctx, p[2]) },
    { method: 'GET', pattern: /^api\/executions\/[^/]+\/history$/, run: (_q, _r, p, query) => api.history(ctx, p[2], query) },
    { method: 'GET', pattern: /^api\/executions\/[^/]+\/history\/[^/]+$/, run: (_q, _r, p) => api.payload(ctx, p[2], p[4]) },
    { method: 'POST', pattern: /^api\/executions\/[^/]+\/cancel$/, run: async (req, _r, p) => api.cancel(ctx, p[2], await readJson(req)) },
    { method: 'POST', pattern: /^api\/executions\/[^/]+\/signal$/, run: async (req, _r, p) => api.signal(ctx, p[2], await readJson(req)) },
    { method: 'POST', pattern: /^api\/executions\/[^/]+\/terminate$/, run: async (req, _r, p) => api.terminate(ctx, p[2], await readJson(req)) },
    { method: 'POST', pattern: /^api\/executions\/[^/]+\/resume$/, run: async (req, _r, p) => { await readJson(req); return api.resume(ctx, p[2]); } },
  ];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const raw = url.pathname.replace(/^\/+/, '');
    if (req.method === 'GET' && raw.startsWith('assets/')) return sendStatic(res, decodeURIComponent(raw.slice('assets/'.length)));
    if (req.method === 'GET' && raw === '' && url.searchParams.has('token')) {
      if (!tokenMatches(token, url.searchParams.get('token'))) return sendJson(res, 401, { error: { code: 'UNAUTHORIZED', message: 'wrong token' } });
      res.writeHead(303, { 'set-cookie': tokenCookie(token), location: '/' }).end();
      return;
    }
    if (!tokenMatches(token, presentedToken(req))) {
      res.setHeader('www-authenticate', 'Bearer realm="leaseflow"');
      if (raw === '' && req.method === 'GET') {
        res.writeHead(401, { 'content-type': 'text/html; charset=utf-8' })
          .end('<!doctype html><title>leaseflow</title><p>Open the URL with <code>?token=…</code> that <code>leaseflow dashboard</code> printed.</p>');
        return;
      }
      return sendJson(res, 401, { error: { code: 'UNAUTHORIZED', message: 'missing or wrong token' } });
    }
    if (req.method === 'GET' && raw === '') return sendStatic(res, 'index.html');
    if (req.method === 'GET' && raw === 'metrics') {
      res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.text());
      return;
    }
    if (req.method === 'GET' && raw === 'api/live') return live.add(res);
    const parts = raw.split('/').map((s) => decodeURIComponent(s));
    const route = routes.find((r) => r.pattern.test(raw));
    if (!route) throw new HttpError(404, 'not found');
    if (route.method !== req.method) throw new HttpError(405, `use ${route.method}`);
    sendJson(res, 200, await route.run(req, res, parts, url.searchParams));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!(err instanceof HttpError) && !(err instanceof ValidationError)) log.warn({ err, path: req.url?.split('?')[0] }, 'dashboard request failed');
      if (!res.headersSent) sendError(res, err);
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  log.info({ url: base }, 'dashboard listening');
  return {
    url: base,
    loginUrl: `${base}?token=${encodeURIComponent(token)}`,
    token,
    async close() {
      live.close();
      metrics.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await inspector.close();
      await metricsInspector.close();
      await client.close();
      if (owned) await db.close();
    },
  };
}
