/**
 * Simulated hosts: one Linux network namespace per "host", each joined to the root namespace by
 * a veth pair on its own /24 (host i is 10.231.i.2, its gateway — the root side, where the
 * proxy listens on 0.0.0.0 — is 10.231.i.1). A partition cuts one host's link (the root end of
 * its veth goes down: packets vanish, no RST, as with a pulled cable) and heals it. Needs root.
 * Invariant: only namespaces and links named with this set's prefix are created or deleted.
 */
import { execFileSync } from 'node:child_process';

/** One simulated host. */
export interface SimHost {
  /** 1-based. */
  n: number;
  netns: string;
  /** The host's own address. */
  address: string;
  /** The root namespace's address on this host's link (reach the proxy here). */
  gateway: string;
  /** Root end of the veth pair (cut for a partition). */
  rootLink: string;
  partitioned: boolean;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 }).toString();

/** A set of simulated hosts named `<prefix><n>`. */
export class SimHosts {
  readonly hosts: SimHost[] = [];

  /**
   * @param subnet host i uses 10.<subnet>.i.0/24; two sets alive at once need different subnets
   * (the same gateway address on two links would send replies down the wrong one).
   */
  constructor(readonly prefix = 'lfhost', readonly subnet = 231) {
    if (!/^[a-z][a-z0-9]{1,8}$/.test(prefix)) throw new Error(`host prefix must be 2-9 lowercase letters/digits (got ${prefix})`);
    if (!Number.isInteger(subnet) || subnet < 1 || subnet > 254) throw new Error(`subnet must be an integer in 1..254 (got ${subnet})`);
  }

  /** Create `count` hosts (removing stale ones of the same prefix first). */
  create(count: number): SimHost[] {
    this.destroyAll();
    for (let n = 1; n <= count; n++) {
      const netns = `${this.prefix}${n}`;
      const rootLink = `${this.prefix}${n}r`;
      const nsLink = `${this.prefix}${n}n`;
      const host: SimHost = { n, netns, address: `10.${this.subnet}.${n}.2`, gateway: `10.${this.subnet}.${n}.1`, rootLink, partitioned: false };
      ip('netns', 'add', netns);
      this.hosts.push(host);
      ip('link', 'add', rootLink, 'type', 'veth', 'peer', 'name', nsLink);
      ip('link', 'set', nsLink, 'netns', netns);
      ip('addr', 'add', `${host.gateway}/24`, 'dev', rootLink);
      ip('link', 'set', rootLink, 'up');
      ip('-n', netns, 'link', 'set', 'lo', 'up');
      ip('-n', netns, 'addr', 'add', `${host.address}/24`, 'dev', nsLink);
      ip('-n', netns, 'link', 'set', nsLink, 'up');
      ip('-n', netns, 'route', 'add', 'default', 'via', host.gateway);
    }
    return this.hosts;
  }

  /** Command prefix that runs a program inside host `n`. */
  exec(n: number): string[] {
    return ['ip', 'netns', 'exec', this.host(n).netns];
  }

  host(n: number): SimHost {
    const h = this.hosts[n - 1];
    if (!h) throw new Error(`no simulated host ${n}`);
    return h;
  }

  /** Cut host `n` off (its link goes down: in-flight packets are dropped silently). */
  partition(n: number): void {
    const h = this.host(n);
    ip('link', 'set', h.rootLink, 'down');
    h.partitioned = true;
  }

  /** Reconnect host `n`. */
  heal(n: number): void {
    const h = this.host(n);
    ip('link', 'set', h.rootLink, 'up');
    h.partitioned = false;
  }

  /** Delete every namespace (and so every veth pair) with this prefix; safe to call twice. */
  destroyAll(): void {
    let names: string[] = [];
    try {
      names = ip('netns', 'list').split('\n').map((l) => l.split(' ')[0]).filter((x) => x && new RegExp(`^${this.prefix}\\d+$`).test(x));
    } catch { /* ip missing: nothing to delete */ }
    for (const name of names) {
      try { ip('netns', 'del', name); } catch { /* gone */ }
      try { ip('link', 'del', `${name}r`); } catch { /* removed with the namespace */ }
    }
    this.hosts.length = 0;
  }
}
