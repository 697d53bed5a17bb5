/**
 * The cluster's own faults for `npm run chaos -- --cluster`: kill -9 of the Galera node the proxy
 * sends writes to (the proxy moves writes to a backup; the node rejoins by IST after a pause),
 * a restart of another node (clean, or crash + recovered position), and a partition of one
 * simulated host (its runners keep running but reach nothing until the link is healed). Each
 * reports a window during which runner failover is not held to the lease bound.
 */
import type { LocalCluster } from '../../scripts/cluster/cluster';
import type { SimHosts } from '../../scripts/cluster/hosts';
import { parseProxySessions, proxyCommand } from '../../scripts/cluster/proxy';
import { clientPorts } from './db-admin';
import { FaultKind, type PlannedFault } from './faults';
import type { RunnerFleet, RunnerProc } from './processes';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** What the injector lends a cluster fault. */
export interface ClusterFaultHooks {
  record: (target: string, detail: string, at?: number) => void;
  held: (proc: RunnerProc) => Promise<{ id: string; token: number }[]>;
  monitor: (fault: 'kill9' | 'sigstop' | 'sigterm', at: number, held: { id: string; token: number }[]) => void;
  /** A window (harness ms) when the store was not fully available. */
  window: (w: { downAt: number; upAt: number; label: string }) => void;
}

/** Partition of one host: which, when, and for how long. */
export interface PartitionRecord { host: number; runners: string[]; cutAtMs: number; healedAtMs: number }

/** Fires the cluster faults. */
export class ClusterFaults {
  readonly partitions: PartitionRecord[] = [];
  /** kill -9 of a writer → first successful write through the proxy (harness ms). */
  readonly writerFailovers: { node: number; killedAtMs: number; firstWriteMs: number | null; newWriter?: number }[] = [];

  constructor(private readonly cluster: LocalCluster, private readonly hosts: SimHosts | undefined, private readonly fleet: RunnerFleet, private readonly leaseTtlMs: number,
    private readonly probeWrite: () => Promise<void>) {}

  /**
   * Ports of `proc`'s sessions as the nodes see them (PROCESSLIST `127.0.0.1:port`): its sockets
   * to the proxy, from its own network namespace, matched with the proxy's sessions.
   */
  async serverPorts(proc: RunnerProc): Promise<Set<number>> {
    const address = this.hosts?.hosts.find((h) => h.n === proc.host)?.address ?? '127.0.0.1';
    const mine = new Set([...clientPorts(proc.pid, this.cluster.layout.proxyPort)].map((p) => `${address}:${p}`));
    const sessions = parseProxySessions(await proxyCommand(this.cluster.layout, 'show sess all'));
    return new Set(sessions.filter((x) => mine.has(x.source)).map((x) => Number(x.backend.split(':').pop())));
  }

  async fire(f: PlannedFault, h: ClusterFaultHooks): Promise<void> {
    switch (f.kind) {
      case FaultKind.writerKill: return this.#writerKill(f, h);
      case FaultKind.nodeRestart: return this.#nodeRestart(f, h);
      case FaultKind.partition: return this.#partition(f, h);
      default: throw new Error(`not a cluster fault: ${f.kind}`);
    }
  }

  async #writerKill(f: PlannedFault, h: ClusterFaultHooks): Promise<void> {
    const node = await this.cluster.writer();
    if (!node) return h.record('-', 'skipped: the proxy has no writer');
    const { at } = await this.cluster.killNode(node);
    h.record(`node${node}`, 'kill -9 of the writer node', at);
    // Writer failover as the clients see it: the first write that commits after the kill.
    let firstWriteMs: number | null = null;
    for (const deadline = at + 60_000; Date.now() < deadline;) {
      try { await this.probeWrite(); firstWriteMs = Date.now() - at; break; } catch { await sleep(50); }
    }
    const newWriter = await this.cluster.writer();
    this.writerFailovers.push({ node, killedAtMs: at, firstWriteMs, newWriter });
    h.record(`node${node}`, `writes resumed on node${newWriter ?? '?'} after ${firstWriteMs ?? 'never'} ms`);
    await sleep(2000 + Math.round(f.param * 4000));
    const r = await this.cluster.restartNode(node);
    const upAt = Date.now();
    h.record(`node${node}`, `rejoined in ${r.ms} ms (${r.via})`, upAt);
    h.window({ downAt: at, upAt, label: `writer node${node} killed` });
  }

  async #nodeRestart(f: PlannedFault, h: ClusterFaultHooks): Promise<void> {
    const writer = await this.cluster.writer();
    const others = this.cluster.layout.nodes.map((n) => n.n).filter((n) => n !== writer);
    const node = others[Math.floor(f.pick * others.length)];
    if (!node) return h.record('-', 'skipped: no node besides the writer');
    const crash = f.param >= 0.5;
    const at = Date.now();
    h.record(`node${node}`, crash ? 'kill -9, then restart from the recovered position' : 'clean restart');
    const r = await this.cluster.restartNode(node, { crash, downMs: 1000 + Math.round(f.param * 2000) });
    const upAt = Date.now();
    h.record(`node${node}`, `rejoined in ${r.ms} ms (${r.via})`, upAt);
    h.window({ downAt: at, upAt, label: `node${node} restarted` });
  }

  async #partition(f: PlannedFault, h: ClusterFaultHooks): Promise<void> {
    if (!this.hosts || this.hosts.hosts.length < 2) return h.record('-', 'skipped: no simulated hosts');
    const host = 1 + Math.floor(f.pick * this.hosts.hosts.length);
    const victims = this.fleet.slots.filter((p) => p?.alive && p.host === host);
    const held = (await Promise.all(victims.map((p) => h.held(p).catch(() => [])))).flat();
    const cutMs = this.leaseTtlMs + 1000 + Math.round(f.param * 3000);
    this.hosts.partition(host);
    const at = Date.now();
    for (const p of victims) p.partitioned = true;
    h.record(`host${host}`, `link cut for ${cutMs} ms: ${victims.length} runner(s) holding ${held.length} running`, at);
    h.monitor('sigstop', at, held);
    await sleep(cutMs);
    this.hosts.heal(host);
    for (const p of victims) p.partitioned = false;
    this.partitions.push({ host, runners: victims.map((p) => p.instanceId), cutAtMs: at, healedAtMs: Date.now() });
    h.record(`host${host}`, 'link restored');
  }
}
