/**
 * Cluster mode of the chaos run: make sure the local Galera cluster is up in the wanted proxy
 * mode (starting it when it is not, and stopping it again at the end), create the simulated
 * hosts the runners are spread over, and say where each runner slot runs and which URL it uses.
 * Invariant: what this module started or created, close() stops or deletes — also on a crash of
 * the harness (the namespaces are removed from a process 'exit' handler).
 */
import { LocalCluster } from '../../scripts/cluster/cluster';
import { DEFAULT_BASE_PORT, DEFAULT_CLUSTER_DIR, type ProxyMode } from '../../scripts/cluster/layout';
import { proxyMode } from '../../scripts/cluster/proxy';
import { SimHosts } from '../../scripts/cluster/hosts';

/** The cluster side of one chaos (or bench) run. */
export interface ClusterRun {
  cluster: LocalCluster;
  hosts?: SimHosts;
  /** URL the harness uses (the proxy's harness port: its sessions come from 127.0.0.2). */
  harnessUrl: string;
  /** URL a runner on this machine's own network uses. */
  runnerUrl: string;
  placement: (slot: number) => { host: number; prefix: string[]; dbUrl: string };
  close: () => Promise<void>;
}

/** Bring the cluster up for `dbName` with `hostCount` simulated hosts. */
export async function setupCluster(o: { dbName: string; mode: ProxyMode; hostCount: number; hostPrefix: string; subnet: number; log: (line: string) => void }): Promise<ClusterRun> {
  const cluster = new LocalCluster(process.env.LEASEFLOW_CLUSTER_DIR ?? DEFAULT_CLUSTER_DIR, Number(process.env.LEASEFLOW_CLUSTER_PORT ?? DEFAULT_BASE_PORT), (l) => o.log(`cluster: ${l}`));
  let started = false;
  let previousMode: ProxyMode | undefined;
  if (!(await cluster.isUp())) {
    o.log('cluster not up: starting it (and stopping it at the end)');
    await cluster.down();
    await cluster.up({ mode: o.mode });
    started = true;
  } else if (proxyMode(cluster.layout) !== o.mode) {
    previousMode = proxyMode(cluster.layout);
    await cluster.setMode(o.mode);
  }
  let hosts: SimHosts | undefined;
  const cleanupHosts = () => hosts?.destroyAll();
  if (o.hostCount > 0) {
    hosts = new SimHosts(o.hostPrefix, o.subnet);
    process.once('exit', cleanupHosts);
    hosts.create(o.hostCount);
    o.log(`simulated hosts: ${hosts.hosts.map((h) => `${h.netns}=${h.address}`).join(' ')}`);
  }
  const placement = (slot: number) => {
    if (!hosts) return { host: 0, prefix: [], dbUrl: cluster.url(o.dbName) };
    const h = hosts.hosts[slot % hosts.hosts.length];
    return { host: h.n, prefix: hosts.exec(h.n), dbUrl: cluster.url(o.dbName, h.gateway) };
  };
  return {
    cluster, hosts, harnessUrl: cluster.harnessUrl(o.dbName), runnerUrl: cluster.url(o.dbName), placement,
    close: async () => {
      cleanupHosts();
      process.off('exit', cleanupHosts);
      if (started) await cluster.down();
      else if (previousMode) await cluster.setMode(previousMode);
    },
  };
}
