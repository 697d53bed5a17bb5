/**
 * Live updates over server-sent events. One loop per dashboard, running only while at least one
 * stream is open: every `tickMs` it takes one inspector snapshot (a few bounded, indexed reads)
 * and sends it to every stream; lease moves (takeovers) ride along in the snapshot. Idle (no
 * stream), the dashboard sends no statement at all.
 */
import type { ServerResponse } from 'node:http';
import type { Inspector, Logger } from '../engine';

/** The live hub. */
export class LiveHub {
  #streams = new Set<ServerResponse>();
  #timer?: NodeJS.Timeout;
  #busy = false;
  #inspector: Inspector;
  #tickMs: number;
  #log: Logger;

  constructor(inspector: Inspector, tickMs: number, log: Logger) {
    this.#inspector = inspector;
    this.#tickMs = tickMs;
    this.#log = log;
  }

  /** Attach an SSE response; it gets a snapshot at once and one per tick. */
  add(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write('retry: 2000\n\n');
    this.#streams.add(res);
    res.on('close', () => {
      this.#streams.delete(res);
      if (this.#streams.size === 0) this.#stop();
    });
    if (!this.#timer) {
      this.#timer = setInterval(() => void this.#tick(), this.#tickMs);
      this.#timer.unref?.();
    }
    void this.#tick();
  }

  /** Open streams. */
  get size(): number { return this.#streams.size; }

  /** End every stream. */
  close(): void {
    for (const s of this.#streams) s.end();
    this.#streams.clear();
    this.#stop();
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #tick(): Promise<void> {
    if (this.#busy || this.#streams.size === 0) return;
    this.#busy = true;
    try {
      const snap = await this.#inspector.snapshot();
      const frame = `event: snapshot\ndata: ${JSON.stringify(snap)}\n\n`;
      for (const s of this.#streams) s.write(frame);
    } catch (err) {
      this.#log.warn({ err }, 'live snapshot failed');
      for (const s of this.#streams) s.write(`event: problem\ndata: ${JSON.stringify({ message: 'store unreachable; retrying' })}\n\n`);
    } finally {
      this.#busy = false;
    }
  }
}
