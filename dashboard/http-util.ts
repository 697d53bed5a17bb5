/**
 * Small HTTP helpers of the dashboard: JSON answers (dates as ISO strings), bounded JSON
 * bodies, typed errors mapped to status codes, and static files from dashboard/static.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { ExecutionFinishedError, ExecutionNotFoundError, LeaseflowError, ValidationError } from '../engine';

/** Where the page and its vendored modules live. */
export const STATIC_DIR = join(__dirname, 'static');

/** An answer with a status code (thrown by handlers). */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Send JSON. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

/** Map an error to a status and a JSON body with the stable code. */
export function sendError(res: ServerResponse, err: unknown): void {
  if (err instanceof HttpError) return sendJson(res, err.status, { error: { code: 'HTTP', message: err.message } });
  if (err instanceof ExecutionNotFoundError) return sendJson(res, 404, { error: { code: err.code, message: err.message } });
  if (err instanceof ExecutionFinishedError) return sendJson(res, 409, { error: { code: err.code, message: err.message } });
  if (err instanceof ValidationError) return sendJson(res, 400, { error: { code: err.code, message: err.message, field: err.field } });
  if (err instanceof LeaseflowError) return sendJson(res, 500, { error: { code: err.code, message: err.message } });
  sendJson(res, 500, { error: { code: 'INTERNAL', message: 'internal error (see the dashboard log)' } });
}

/** Read a JSON body of at most `limit` bytes; only `application/json` (so no form can post cross-site). */
export async function readJson(req: IncomingMessage, limit = 2 * 1024 * 1024 + 4096): Promise<Record<string, unknown>> {
  if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) throw new HttpError(415, 'send application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, 'request body too large');
    chunks.push(chunk);
  }
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch {
    throw new HttpError(400, 'body is not a JSON object');
  }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png',
};

/** Serve one file under STATIC_DIR (no path escapes); 404 otherwise. */
export async function sendStatic(res: ServerResponse, relPath: string): Promise<void> {
  const full = normalize(join(STATIC_DIR, relPath));
  if (!full.startsWith(STATIC_DIR + sep)) throw new HttpError(404, 'not found');
  let body: Buffer;
  try {
    body = await readFile(full);
  } catch {
    throw new HttpError(404, 'not found');
  }
  res.writeHead(200, { 'content-type': TYPES[extname(full)] ?? 'application/octet-stream', 'cache-control': 'no-cache' }).end(body);
}
