/**
 * `npm run cluster -- up|down|status|kill-node N|restart-node N|mode single|multi [options]`:
 * the local three-node Galera cluster behind HAProxy (see scripts/cluster/cluster.ts).
 * Options: --multi-writer (up: all nodes behind the proxy), --fresh (up: new data dirs),
 * --purge (down: delete the cluster dir), --crash (restart-node: kill -9 first),
 * --dir DIR (default /tmp/leaseflow-cluster, or LEASEFLOW_CLUSTER_DIR), --port BASE (default
 * 4400, or LEASEFLOW_CLUSTER_PORT; the proxy listens on BASE, node i on BASE+10·i), --json.
 */
import { LocalCluster } from './cluster';
import { DEFAULT_BASE_PORT, DEFAULT_CLUSTER_DIR } from './layout';

const USAGE = 'usage: npm run cluster -- up [--multi-writer] [--fresh] | down [--purge] | status [--json] | kill-node N | restart-node N [--crash] | mode single|multi   [--dir DIR] [--port BASE]';

function opt(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

async function main(argv: string[]): Promise<number> {
  const [command, arg] = argv.filter((a, i) => !a.startsWith('--') && !['--dir', '--port'].includes(argv[i - 1] ?? ''));
  const dir = opt(argv, '--dir') ?? process.env.LEASEFLOW_CLUSTER_DIR ?? DEFAULT_CLUSTER_DIR;
  const port = Number(opt(argv, '--port') ?? process.env.LEASEFLOW_CLUSTER_PORT ?? DEFAULT_BASE_PORT);
  if (!Number.isInteger(port) || port < 1024 || port > 65000) throw new Error(`--port must be an integer port (got ${port})`);
  const t0 = Date.now();
  const cluster = new LocalCluster(dir, port, (l) => process.stdout.write(`cluster +${((Date.now() - t0) / 1000).toFixed(1)}s: ${l}\n`));
  const nodeArg = () => {
    const n = Number(arg);
    if (!Number.isInteger(n) || n < 1 || n > cluster.layout.nodes.length) throw new Error(`${command} needs a node number 1..${cluster.layout.nodes.length}\n${USAGE}`);
    return n;
  };
  switch (command) {
    case 'up':
      await cluster.up({ fresh: argv.includes('--fresh'), mode: argv.includes('--multi-writer') ? 'multi-writer' : 'single-writer' });
      process.stdout.write(`up: ${cluster.url('DB')} (writer: node${await cluster.writer()})\n`);
      return 0;
    case 'down':
      await cluster.down({ purge: argv.includes('--purge') });
      process.stdout.write('down\n');
      return 0;
    case 'status': {
      const s = await cluster.status();
      if (argv.includes('--json')) { process.stdout.write(`${JSON.stringify(s, null, 2)}\n`); return 0; }
      process.stdout.write(`proxy ${s.proxy.pid ? `pid ${s.proxy.pid}` : 'DOWN'} port ${s.proxy.port} ${s.proxy.mode ?? ''} writer ${s.proxy.writer ?? '-'}\n`);
      for (const n of s.nodes) {
        const p = s.proxy.servers.find((x) => x.name === n.name);
        const w = n.wsrep ? `${n.wsrep.comment} ${n.wsrep.clusterStatus} size ${n.wsrep.clusterSize} seqno ${n.wsrep.lastCommitted}` : 'not answering';
        process.stdout.write(`${n.name} port ${n.port} ${n.pid ? `pid ${n.pid}` : 'stopped'}: ${w}; proxy ${p ? `${p.status}${p.backup ? ' (backup)' : ''} ${p.sessions} sessions` : '-'}\n`);
      }
      return s.proxy.pid && s.nodes.every((n) => n.wsrep?.state === 4) ? 0 : 1;
    }
    case 'kill-node': {
      const r = await cluster.killNode(nodeArg());
      process.stdout.write(r.pid ? `node${arg}: killed pid ${r.pid}\n` : `node${arg} was not running\n`);
      return 0;
    }
    case 'restart-node': {
      const r = await cluster.restartNode(nodeArg(), { crash: argv.includes('--crash') });
      process.stdout.write(`node${arg} Synced after ${r.ms} ms (${r.via})\n`);
      return 0;
    }
    case 'mode':
      if (arg !== 'single' && arg !== 'multi') throw new Error(USAGE);
      await cluster.setMode(arg === 'multi' ? 'multi-writer' : 'single-writer');
      process.stdout.write(`proxy now ${arg}-writer\n`);
      return 0;
    default:
      throw new Error(USAGE);
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: unknown) => {
  process.stderr.write(`cluster: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
