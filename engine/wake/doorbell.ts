/**
 * The doorbell: a cross-process wake-up for idle runners, so a start made in another process (or
 * on another host) reaches an idle runner in milliseconds instead of at its next poll, with no
 * added idle load (nothing is polled for it).
 *
 * A runner binds a UDP socket and stores its `host:port` in its runner row (`wake_addr`). A
 * process that made work due (a start, a signal, a child start, a schedule fire: everything that
 * emits the in-process notifier's `work`) sends one 4-byte datagram to every live runner's
 * address, at most once per event-loop turn; the addresses are read from the runners table at
 * most every REFRESH_MS and only while ringing. A ring only cuts a runner's idle wait short: the
 * runner still claims through the database, so a lost, late, duplicated or forged datagram costs
 * at most one probe (rings closer than MIN_GAP_MS apart are dropped), and polling remains the
 * floor when UDP is blocked or the doorbell is off.
 */
import dgram from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { notifier } from '../store/notifier';
import { liveWakeAddresses } from '../store/runners';
import type { SqlStore } from '../store/sql';

/** What a ring datagram holds. Anything else is ignored. */
const RING = Buffer.from('LFW1');
/** How long a list of runner addresses is used before it is read again. */
export const REFRESH_MS = 2000;
/** Rings closer together than this wake a runner once. */
const MIN_GAP_MS = 2;

/** Where the doorbell listens: 'auto' (the first non-internal IPv4 address, else loopback), an address, or 'off'. */
export type WakeSetting = 'auto' | 'off' | string;

/** The address `auto` picks: the first non-internal IPv4 address of this host, else 127.0.0.1. */
export function autoWakeHost(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/** A bound doorbell. */
export interface DoorbellListener {
  /** `host:port`, as stored in the runner row. */
  readonly address: string;
  /** Valid rings received and rings that woke the runner. */
  readonly stats: { received: number; woke: number };
  close(): Promise<void>;
}

/** Bind a doorbell on `host` (port chosen by the OS); `onRing` runs for valid rings, at most once per MIN_GAP_MS. */
export function listenDoorbell(host: string, onRing: () => void): Promise<DoorbellListener> {
  const socket = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
  const stats = { received: 0, woke: 0 };
  let last = -Infinity;
  socket.on('message', (msg) => {
    if (!msg.equals(RING)) return;
    stats.received++;
    const now = performance.now();
    if (now - last < MIN_GAP_MS) return;
    last = now;
    stats.woke++;
    onRing();
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, () => {
      socket.off('error', reject);
      socket.on('error', () => undefined); // a datagram socket error is not the runner's: polling still works
      socket.unref();
      const { port } = socket.address();
      const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
      resolve({ address, stats, close: () => new Promise<void>((r) => socket.close(() => r())) });
    });
  });
}

/** Split a stored `host:port` (IPv6 in brackets); null when malformed. */
export function parseWakeAddress(value: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value);
  if (!m) return null;
  const port = Number(m[3]);
  return port > 0 && port < 65536 ? { host: m[1] ?? m[2], port } : null;
}

/** Rings the runners of one store for one client or runner (`startRinging`). */
class Ringer {
  #addresses: { host: string; port: number }[] = [];
  #readAt = -Infinity;
  #pending = false;
  #closed = false;
  #socket4?: dgram.Socket;
  #socket6?: dgram.Socket;
  readonly stats = { rings: 0, datagrams: 0, refreshes: 0, errors: 0 };

  constructor(private readonly store: SqlStore) {}

  /** Ring every live runner once, at the end of this event-loop turn (a burst of starts rings once). */
  schedule(): void {
    if (this.#pending) return;
    this.#pending = true;
    setImmediate(() => { this.#pending = false; if (!this.#closed) void this.#ring(); });
  }

  async #ring(): Promise<void> {
    try {
      if (performance.now() - this.#readAt > REFRESH_MS) {
        this.#readAt = performance.now();
        this.stats.refreshes++;
        this.#addresses = (await liveWakeAddresses(this.store)).map(parseWakeAddress).filter((a): a is { host: string; port: number } => a !== null);
      }
      if (this.#closed) return;
      this.stats.rings++;
      for (const a of this.#addresses) {
        this.stats.datagrams++;
        this.#socket(a.host).send(RING, a.port, a.host, (err) => { if (err) this.stats.errors++; });
      }
    } catch {
      this.stats.errors++; // best effort: the runners still poll
    }
  }

  close(): void {
    this.#socket4?.close();
    this.#socket6?.close();
    this.#socket4 = this.#socket6 = undefined;
    this.#closed = true;
  }

  #socket(host: string): dgram.Socket {
    const v6 = host.includes(':');
    let s = v6 ? this.#socket6 : this.#socket4;
    if (!s) {
      s = dgram.createSocket(v6 ? 'udp6' : 'udp4');
      s.on('error', () => { this.stats.errors++; });
      s.unref();
      if (v6) this.#socket6 = s; else this.#socket4 = s;
    }
    return s;
  }
}

/** What a ringer did (for tests and metrics). */
export type RingStats = Ringer['stats'];

/**
 * Ring the runners of `store` whenever this process makes work due on `url` (the notifier's
 * `work`), until the returned stop is called (the client's or runner's close). The sockets are
 * unref'd: ringing never keeps a process alive.
 */
export function startRinging(url: string, store: SqlStore): { stats: RingStats; stop: () => void } {
  const ringer = new Ringer(store);
  const onWork = () => ringer.schedule();
  notifier(url).on('work', onWork);
  return { stats: ringer.stats, stop: () => { notifier(url).off('work', onWork); ringer.close(); } };
}
