/**
 * The cluster mode of `npm run chaos`: its options (quick by default and ≤ 5 min of main phase,
 * --long for the long mode, flags that only make sense with --cluster refused without it) and
 * its fault plan (every cluster fault kind present, spread over the main phase, seeded).
 */
import { FaultKind, planClusterFaults, planFaults } from '../../bench/chaos/faults';
import { parseChaosArgs } from '../../bench/chaos/options';
import { createRng } from '../../bench/chaos/random';

describe('chaos --cluster options', () => {
  it('defaults to a quick run of 10 runners over 3 simulated hosts, single writer', () => {
    const o = parseChaosArgs(['--cluster', '--seed', '7']);
    expect(o).toMatchObject({ cluster: true, long: false, quick: true, runners: 10, hosts: 3, multiWriter: false, seed: 7 });
    expect(o.durationMs).toBeLessThanOrEqual(120_000);
  });

  it('has a long mode, a multi-writer mode and more runners only with --cluster', () => {
    expect(parseChaosArgs(['--cluster', '--long', '--multi-writer', '--runners', '12'])).toMatchObject({ long: true, quick: false, multiWriter: true, runners: 12, durationMs: 540_000 });
    expect(() => parseChaosArgs(['--long'])).toThrow(/--cluster/);
    expect(() => parseChaosArgs(['--hosts', '3'])).toThrow(/--cluster/);
    expect(() => parseChaosArgs(['--runners', '10'])).toThrow(/--runners/);
    expect(() => parseChaosArgs(['--cluster', '--db', 'mariadb://root@x/db'])).toThrow(/--cluster/);
  });
});

describe('cluster fault plan', () => {
  const kinds = [FaultKind.writerKill, FaultKind.partition, FaultKind.nodeRestart];

  it('puts one of each cluster fault in a quick run, inside the main phase and in order', () => {
    const plan = planClusterFaults(createRng(1), { durationMs: 100_000, quick: true });
    expect(plan.map((f) => f.kind).sort()).toEqual([...kinds].sort());
    expect(plan.every((f) => f.atMs > 6000 && f.atMs < 100_000 - 20_000)).toBe(true);
    expect(plan.map((f) => f.atMs)).toEqual([...plan.map((f) => f.atMs)].sort((a, b) => a - b));
  });

  it('repeats the cycle in a long run, leaving ≥ 20 s between cluster faults', () => {
    const plan = planClusterFaults(createRng(2), { durationMs: 540_000, quick: false });
    expect(plan.length).toBeGreaterThanOrEqual(9);
    for (const k of kinds) expect(plan.filter((f) => f.kind === k).length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < plan.length; i++) expect(plan[i].atMs - plan[i - 1].atMs).toBeGreaterThanOrEqual(20_000);
  });

  it('is part of the whole plan only in cluster runs, and the same for the same seed', () => {
    const opts = { durationMs: 100_000, leaseTtlMs: 2000, restartDb: false, quick: true };
    expect(planFaults(createRng(3), opts).some((f) => kinds.includes(f.kind as never))).toBe(false);
    const a = planFaults(createRng(3), { ...opts, cluster: true });
    expect(a.filter((f) => kinds.includes(f.kind as never))).toHaveLength(3);
    expect(planFaults(createRng(3), { ...opts, cluster: true })).toEqual(a);
  });
});
