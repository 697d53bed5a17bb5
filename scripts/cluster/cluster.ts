/**
 * A three-node MariaDB Galera cluster with HAProxy in front, on this machine: bring it up
 * (bootstrap node1, the others join), take it down, kill -9 or restart a node (which rejoins by
 * IST when it can), and report its state. Used by `npm run cluster`, the cluster chaos run and
 * the cluster bench. Invariant: every process it starts is tracked by a pid file under the
 * cluster dir; nothing outside that dir is touched.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { clusterLayout, type ClusterLayout, type NodeLayout, type ProxyMode } from './layout';
import { grastate, initNode, killNode, nodePid, nodeQuery, nodeState, recoverPosition, startNode, stopNode, type NodeState } from './nodes';
import { proxyMode, proxyPid, proxyServers, proxyWriter, startProxy, stopProxy, type ProxyServer } from './proxy';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Snapshot of the cluster. */
export interface ClusterStatus {
  dir: string;
  proxy: { pid?: number; port: number; mode?: ProxyMode; servers: ProxyServer[]; writer?: string };
  nodes: { name: string; port: number; pid?: number; wsrep: NodeState | null }[];
}

/** Handle on the local cluster at `dir`/`basePort`. */
export class LocalCluster {
  readonly layout: ClusterLayout;

  constructor(dir?: string, basePort?: number, private readonly log: (line: string) => void = () => undefined) {
    this.layout = clusterLayout(dir, basePort);
  }

  /** URL of database `db` through the proxy, as seen from `host` (127.0.0.1 on this machine). */
  url(db: string, host = '127.0.0.1'): string {
    return `mariadb://root@${host}:${this.layout.proxyPort}/${db}`;
  }

  /** URL of database `db` through the harness port (sessions from 127.0.0.2, see layout.ts). */
  harnessUrl(db: string): string {
    return `mariadb://root@127.0.0.1:${this.layout.harnessPort}/${db}`;
  }

  /** URL of database `db` on node `n` directly (bypassing the proxy). */
  nodeUrl(n: number, db: string): string {
    return `mariadb://root@127.0.0.1:${this.node(n).sqlPort}/${db}`;
  }

  node(n: number): NodeLayout {
    const node = this.layout.nodes[n - 1];
    if (!node) throw new Error(`no node ${n} (nodes are 1..${this.layout.nodes.length})`);
    return node;
  }

  /** Every node Synced in a Primary component and the proxy running. */
  async isUp(): Promise<boolean> {
    if (!proxyPid(this.layout)) return false;
    const states = await Promise.all(this.layout.nodes.map((n) => nodeState(n)));
    return states.every((s) => s?.state === 4 && s.clusterStatus === 'Primary');
  }

  /**
   * Start the cluster: new data dirs on first use (or with `fresh`), bootstrap one node (node1,
   * or after a clean `down` the node that was stopped last), join the others one by one (each
   * copies the bootstrap node's data by SST, ~10 s), then start the proxy.
   */
  async up(o: { fresh?: boolean; mode?: ProxyMode } = {}): Promise<void> {
    const c = this.layout;
    const mode = o.mode ?? 'single-writer';
    const running = c.nodes.filter((n) => nodePid(n));
    if (running.length) {
      if (running.length === c.nodes.length && proxyPid(c) && proxyMode(c) === mode && (await this.isUp())) { this.log('cluster already up'); return; }
      throw new Error(`cluster partly running (${running.map((n) => n.name).join(', ')}): run \`npm run cluster -- down\` first`);
    }
    if (proxyPid(c)) await stopProxy(c);
    mkdirSync(c.dir, { recursive: true });
    const fresh = o.fresh || c.nodes.some((n) => !existsSync(`${n.dataDir}/mysql`));
    if (fresh) {
      const t = Date.now();
      for (const n of c.nodes) await initNode(c, n);
      this.log(`data dirs created under ${c.dir} (${Date.now() - t} ms)`);
    }
    const states = c.nodes.map((n) => ({ n, g: grastate(n) }));
    let first = fresh ? c.nodes[0] : states.find((s) => s.g?.safeToBootstrap)?.n;
    if (!first) {
      // No node was shut down last cleanly (all crashed): bootstrap the most advanced one, by the
      // position each recovers from its InnoDB (the operator's call in production).
      const seqnos = new Map<NodeLayout, number>();
      for (const { n, g } of states) {
        const pos = g && g.seqno < 0 ? await recoverPosition(n) : undefined;
        seqnos.set(n, pos ? Number(pos.split(':')[1]) : (g?.seqno ?? -1));
      }
      first = [...seqnos.entries()].sort((a, b) => b[1] - a[1])[0][0];
      const g = grastate(first);
      if (g) writeFileSync(`${first.dataDir}/grastate.dat`, `# GALERA saved state\nversion: 2.1\nuuid: ${g.uuid}\nseqno: ${seqnos.get(first)}\nsafe_to_bootstrap: 1\n`);
      this.log(`no node was stopped cleanly: bootstrapping ${first.name} (seqno ${seqnos.get(first)})`);
    }
    const b = await startNode(first, 'bootstrap');
    this.log(`${first.name} bootstrapped (${b.ms} ms)`);
    if (fresh) {
      // TCP logins through the proxy come from 127.0.0.1 (skip-name-resolve: no 'localhost' match).
      await nodeQuery(first, "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''; GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; " +
        "CREATE USER IF NOT EXISTS 'root'@'127.0.0.2' IDENTIFIED BY ''; GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.2' WITH GRANT OPTION");
    }
    for (const n of c.nodes) {
      if (n === first) continue;
      const j = await startNode(n, 'join');
      this.log(`${n.name} joined: ${j.via} (${j.ms} ms)`);
    }
    await startProxy(c, mode);
    this.log(`haproxy (${mode}) on ${c.proxyBind}:${c.proxyPort}`);
  }

  /** Stop the proxy and every node (cleanly; node1 last); `purge` deletes the cluster dir. */
  async down(o: { purge?: boolean } = {}): Promise<void> {
    const c = this.layout;
    await stopProxy(c);
    for (const n of [...c.nodes].reverse()) await stopNode(n);
    if (o.purge) rmSync(c.dir, { recursive: true, force: true });
  }

  /** Restart the proxy in another mode (the nodes keep running). */
  async setMode(mode: ProxyMode): Promise<void> {
    await stopProxy(this.layout);
    await startProxy(this.layout, mode);
  }

  /** kill -9 node `n`; resolves once the process is gone. */
  async killNode(n: number): Promise<{ pid?: number; at: number }> {
    const node = this.node(n);
    const pid = killNode(node);
    const at = Date.now();
    for (let i = 0; pid && i < 100; i++) {
      try { process.kill(pid, 0); } catch { break; }
      await sleep(50);
    }
    return { pid, at };
  }

  /**
   * Restart node `n`: a clean stop when it runs (unless `crash`: kill -9), then a start that
   * rejoins by IST from its recovered position when the donors' gcache still holds the gap.
   */
  async restartNode(n: number, o: { crash?: boolean; downMs?: number } = {}): Promise<{ via: string; ms: number }> {
    const node = this.node(n);
    if (nodePid(node)) {
      if (o.crash) await this.killNode(n);
      else await stopNode(node);
    }
    if (o.downMs) await sleep(o.downMs);
    const r = await startNode(node, 'join');
    const ist = await this.#joinedBy(node);
    return { via: `${r.via}${ist ? `, ${ist}` : ''}`, ms: r.ms };
  }

  /** IST or SST, from the node's error log of its last start. */
  async #joinedBy(node: NodeLayout): Promise<string | undefined> {
    const text = readFileSync(node.errorLog, 'utf8');
    const last = text.slice(text.lastIndexOf('Starting MariaDB'));
    if (/IST received|Receiving IST/.test(last) && !/SST .*complete|State transfer .*SST/.test(last)) return 'IST';
    if (/SST/.test(last)) return /IST received/.test(last) ? 'SST+IST' : 'SST';
    return undefined;
  }

  /** Number (1-based) of the node the proxy sends writes to now, if any. */
  async writer(): Promise<number | undefined> {
    const name = await proxyWriter(this.layout).catch(() => undefined);
    return name ? Number(name.replace('node', '')) : undefined;
  }

  async status(): Promise<ClusterStatus> {
    const c = this.layout;
    const servers = proxyPid(c) ? await proxyServers(c).catch(() => []) : [];
    const nodes = await Promise.all(c.nodes.map(async (n) => ({ name: n.name, port: n.sqlPort, pid: nodePid(n), wsrep: await nodeState(n) })));
    const writer = await proxyWriter(c).catch(() => undefined);
    return { dir: c.dir, proxy: { pid: proxyPid(c), port: c.proxyPort, mode: proxyMode(c), servers, writer }, nodes };
  }
}
