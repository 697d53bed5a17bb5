/**
 * Chaos invariants about what the faults and the workload exercised: template serialization,
 * signals, poison retries, self-crashes, zombies, stale-commit probes, failover latency and the
 * time to quiesce after the last fault.
 */
import { UNDELIVERED_SEQ } from '../../engine/store/signals';
import { isDeepStrictEqual } from 'node:util';
import { ChaosWorkflow, POISON_RETRY, SIGNAL_NAME, type SignalPayload } from './shapes';
import type { ChaosData, CheckResult, FailoverSample, TxPause } from './check-types';
import { canon, groupBy, Index, ms, parseJson, percentile, Verdict } from './check-helpers';

export function checkTemplates(d: ChaosData, ix = new Index(d)): CheckResult {
  const v = new Verdict('template: no overlapping admitted executions, FIFO');
  const byKey = groupBy(d.executions.filter((e) => e.templateKey !== null), (e) => e.templateKey as string);
  let intervals = 0;
  let minGap = Infinity;
  for (const [key, execs] of byKey) {
    const spans: { id: string; from: number; to: number; createdAtMs: number }[] = [];
    for (const e of execs) {
      const committed = new Map(ix.events(e.id).filter((ev) => ev.kind === 'step').map((ev) => [`${ev.seq}:${ev.leaseToken}`, ev]));
      const effective = ix.attempts(e.id).filter((a) => committed.has(`${a.seq}:${a.leaseToken}`));
      if (effective.length === 0) continue;
      const from = Math.min(...effective.map((a) => a.startedAtMs));
      const to = Math.max(...effective.map((a) => a.finishedAtMs ?? a.startedAtMs), ...[...committed.values()].map((ev) => ev.createdAtMs), e.finishedAtMs ?? 0);
      spans.push({ id: e.id, from, to, createdAtMs: e.createdAtMs });
    }
    spans.sort((a, b) => a.from - b.from);
    intervals += spans.length;
    for (let i = 1; i < spans.length; i++) {
      const gap = spans[i].from - spans[i - 1].to;
      minGap = Math.min(minGap, gap);
      if (gap < 0) v.fail(`key ${key}: ${spans[i].id} started ${ms(-gap)} ms before ${spans[i - 1].id} finished`);
      if (spans[i].createdAtMs < spans[i - 1].createdAtMs) v.fail(`key ${key}: ${spans[i].id} was admitted after ${spans[i - 1].id}, though created earlier (not FIFO)`);
    }
  }
  return v.done({ keys: byKey.size, executions: intervals, min_gap_ms: minGap === Infinity ? '-' : ms(minGap) });
}

/** Every signal sent was stored once and delivered once, to the position that consumed it. */
export function checkSignals(d: ChaosData, ix = new Index(d)): CheckResult {
  const v = new Verdict('signals stored and delivered exactly once');
  const sentNonces = new Map<string, number>();
  for (const s of d.harness.sentSignals) sentNonces.set(s.payload.nonce, (sentNonces.get(s.payload.nonce) ?? 0) + 1);
  const storedNonces = new Map<string, number>();
  let delivered = 0;
  let undelivered = 0;
  for (const f of d.harness.signalFailures) v.fail(`signal to ${f.id} could not be sent: ${f.error}`);
  for (const s of d.signals) {
    const p = parseJson(s.payload) as SignalPayload | undefined;
    const nonce = p?.nonce ?? `?${s.id}`;
    storedNonces.set(nonce, (storedNonces.get(nonce) ?? 0) + 1);
    if (!sentNonces.has(nonce)) v.fail(`signal ${s.id} to ${s.executionId} was never sent by the harness`);
  }
  for (const [nonce, n] of sentNonces) {
    const stored = storedNonces.get(nonce) ?? 0;
    if (n > 1) v.fail(`harness recorded nonce ${nonce} ${n} times`);
    if (stored !== 1) v.fail(`signal ${nonce}: sent once, stored ${stored} times`);
  }
  for (const [execId, sigs] of groupBy(d.signals, (s) => s.executionId)) {
    const e = ix.execById.get(execId);
    const events = new Map(ix.events(execId).map((ev) => [ev.seq, ev]));
    const seqs = new Set<number>();
    for (const s of sigs) {
      if (s.consumedSeq === null || s.consumedSeq === UNDELIVERED_SEQ) {
        const finished = e !== undefined && ['completed', 'failed', 'cancelled'].includes(e.status);
        // Accepted then lost: a finished execution must have marked what it left as undelivered.
        if (s.consumedSeq === null && finished) v.fail(`signal ${s.id} to ${e?.status} ${execId} is neither delivered nor marked undelivered`);
        if (s.consumedSeq === UNDELIVERED_SEQ) {
          undelivered++;
          if (!finished) v.fail(`signal ${s.id} to ${e?.status ?? 'missing'} ${execId} is marked undelivered, but the execution has not finished`);
        }
        if (e?.status === 'completed') v.fail(`signal ${s.id} to completed ${execId} was never delivered`);
        continue;
      }
      if (seqs.has(s.consumedSeq)) v.fail(`${execId}: two signals consumed at seq ${s.consumedSeq}`);
      seqs.add(s.consumedSeq);
      const ev = events.get(s.consumedSeq);
      if (!ev || ev.kind !== 'signal' || ev.status !== 'delivered' || ev.name !== s.name) {
        v.fail(`${execId}: signal ${s.id} consumed at seq ${s.consumedSeq}, but that event is ${ev ? `${ev.kind} "${ev.name}" ${ev.status}` : 'missing'}`);
      } else if (!isDeepStrictEqual(canon(parseJson(ev.payload)), canon(parseJson(s.payload)))) {
        v.fail(`${execId}: signal ${s.id} payload differs from the delivered event at seq ${s.consumedSeq}`);
      } else {
        delivered++;
      }
    }
    const deliveredEvents = ix.events(execId).filter((ev) => ev.kind === 'signal' && ev.status === 'delivered');
    for (const ev of deliveredEvents) if (!seqs.has(ev.seq)) v.fail(`${execId}: delivered signal event at seq ${ev.seq} consumed no stored signal`);
    const shape = e ? ix.shape(e) : null;
    if (e?.status === 'completed' && shape && deliveredEvents.filter((ev) => ev.name === SIGNAL_NAME).length !== shape.signals) {
      v.fail(`${execId}: ${deliveredEvents.length} deliveries, expected ${shape.signals}`);
    }
  }
  const duplicates = d.harness.sentSignals.length - new Set(d.harness.sentSignals.map((s) => `${s.executionId}|${s.payload.v}`)).size;
  return v.done({ sent: d.harness.sentSignals.length, concurrent_duplicates: duplicates, stored: d.signals.length, delivered, undelivered });
}

/** Poison executions failed with their error after exactly the bounded number of attempts. */
export function checkPoison(d: ChaosData, ix = new Index(d)): CheckResult {
  const v = new Verdict('poison: failed after bounded attempts');
  const max = POISON_RETRY.maxAttempts;
  let n = 0;
  let bodies = 0;
  for (const e of d.executions.filter((x) => x.workflow === ChaosWorkflow.poison)) {
    n++;
    if (e.status !== 'failed') { v.fail(`${e.id} is ${e.status}, expected failed`); continue; }
    if (e.error?.name !== 'PoisonError') v.fail(`${e.id} failed with ${e.error?.name}: ${e.error?.message}, expected PoisonError`);
    const ev = ix.events(e.id).find((x) => x.kind === 'step' && x.name === 'poison');
    if (!ev || ev.status !== 'failed') v.fail(`${e.id}: no failed "poison" step event`);
    else if (ev.attempt !== max) v.fail(`${e.id}: poison failed at attempt ${ev.attempt}, expected ${max}`);
    const runs = ix.attempts(e.id).filter((a) => a.step === 'poison');
    bodies += runs.length;
    const numbers = new Set(runs.map((a) => a.stepAttempt));
    if (Math.max(0, ...numbers) > max) v.fail(`${e.id}: poison body ran attempt ${Math.max(...numbers)} > ${max}`);
    for (let i = 1; i <= max; i++) if (!numbers.has(i)) v.fail(`${e.id}: poison attempt ${i} never ran`);
  }
  return v.done({ poison_executions: n, max_attempts: max, bodies_run: bodies });
}

/** Crashes the workflows caused themselves: the crasher SIGKILLed its runner, and still completed elsewhere. */
export function checkCrashes(d: ChaosData, ix = new Index(d)): CheckResult {
  const v = new Verdict('self-crashes recovered');
  let crashes = 0;
  let crashers = 0;
  for (const e of d.executions.filter((x) => x.workflow === ChaosWorkflow.crasher)) {
    crashers++;
    const crashed = ix.attempts(e.id).filter((a) => a.outcome === 'crash');
    crashes += crashed.length;
    if (crashed.length > 1) v.fail(`${e.id}: crashed ${crashed.length} times (only the first claim may crash)`);
    if (e.status !== 'completed') v.fail(`${e.id}: ${e.status} after crashing its runner`);
    if (crashed.length && e.leaseToken < 2) v.fail(`${e.id}: crashed under token ${crashed[0].leaseToken} but never re-claimed`);
  }
  return v.done({ crasher_executions: crashers, runner_processes_crashed: crashes });
}

/**
 * Zombies: bodies that ran in a runner while it was paused past its TTL (SIGSTOP) and whose step
 * was committed under another token — the fence really threw their work away.
 */
export function checkZombies(d: ChaosData, ix = new Index(d)): CheckResult {
  const v = new Verdict('zombies fenced off');
  const stopsByRunner = groupBy(d.harness.stops, (s) => s.runnerId);
  let zombies = 0;
  let zombieCommitted = 0;
  let startedAfterResume = 0;
  const zombieRunners = new Set<string>();
  for (const a of d.attempts) {
    const windows = stopsByRunner.get(a.runnerId);
    if (!windows) continue;
    const sameLease = ix.attempts(a.executionId).filter((b) => b.runnerId === a.runnerId && b.leaseToken === a.leaseToken);
    // In flight when the pause began; or started right after it under a lease granted before
    // it, by a run that had not yet noticed the lease was gone.
    const w = windows.find((s) => (a.startedAtMs <= s.stoppedAtMs && (a.finishedAtMs === null || a.finishedAtMs >= s.stoppedAtMs)) ||
      (a.startedAtMs >= s.resumedAtMs && a.startedAtMs <= s.resumedAtMs + 5000 && sameLease.some((b) => b.startedAtMs <= s.stoppedAtMs)));
    if (!w) continue;
    const ev = ix.events(a.executionId).find((x) => x.seq === a.seq && x.kind === 'step');
    if (!ev) continue;
    if (ev.leaseToken !== a.leaseToken) {
      zombies++;
      zombieRunners.add(a.runnerId);
      if (a.startedAtMs >= w.resumedAtMs) startedAfterResume++;
    } else if (a.startedAtMs <= w.stoppedAtMs) {
      zombieCommitted++;
    }
  }
  if (d.harness.requireZombies && zombies === 0) {
    v.fail(d.harness.stops.length === 0 ? 'no runner was paused: fencing of zombies was not exercised' : 'no paused runner had a step in flight whose commit was fenced off: fencing was not exercised');
  }
  const note = zombies === 0 ? 'no zombie attempt happened in this run (fencing of real zombies not exercised; see the stale-commit probes)' : undefined;
  return v.done({ pauses: d.harness.stops.length, zombie_attempts_fenced: zombies, zombie_runners: zombieRunners.size, started_after_resume: startedAfterResume, paused_attempts_that_committed_in_time: zombieCommitted }, note);
}

/** Stale commits injected through the engine's fenced commit (as a zombie would send them) were all rejected. */
export function checkProbes(d: ChaosData): CheckResult {
  const v = new Verdict('stale-commit probes rejected');
  const byVariant: Record<string, number> = {};
  let errors = 0;
  for (const p of d.harness.probes) {
    byVariant[p.variant] = (byVariant[p.variant] ?? 0) + 1;
    if (p.result === 'landed') v.fail(`${p.variant} with token ${p.token} (current ${p.currentToken}) on ${p.executionId} was COMMITTED`);
    if (p.result === 'error') errors++;
  }
  const rejected = d.harness.probes.filter((p) => p.result === 'rejected').length;
  return v.done({ probes: d.harness.probes.length, rejected, inconclusive: errors, ...byVariant });
}

/**
 * How long a paused transaction (the tx-pause fault) held `f`'s execution row locked while `f`
 * waited for its takeover, ms (0: never). No runner can claim or release a locked row, so that
 * time measures the pause, not failover: the sample's bound grows by exactly that much. Pauses
 * are on the DB clock; `offsetMs` is DB clock minus harness clock. `cuts` (harness clock): host
 * partitions and runners SIGSTOPped inside a transaction, which hold whatever rows they had
 * locked — any execution's (claims, releases of others' leases) — until healed or resumed.
 */
export function rowLockedDuring(f: FailoverSample, pauses: readonly TxPause[], offsetMs: number, cuts: readonly { fromMs: number; toMs: number }[] = []): number {
  if (f.latencyMs === null) return 0;
  const from = f.faultAtMs;
  const to = f.faultAtMs + f.latencyMs;
  const held = [
    ...pauses.filter((p) => p.executionId === f.executionId).map((p) => [p.lockedAtMs - offsetMs, p.releasedAtMs - offsetMs]),
    ...cuts.map((c) => [c.fromMs, c.toMs]),
  ];
  const spans = held.map(([a, b]) => [Math.max(from, a), Math.min(to, b)]).filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  let total = 0;
  let end = -Infinity;
  for (const [a, b] of spans) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return Math.round(total);
}

/**
 * A dead or paused runner's executions continue elsewhere within the bound; a graceful stop hands
 * them over. A sample whose row a paused transaction held locked meanwhile, or that overlapped a
 * host partition or a runner paused inside a transaction, gets the bound plus that time
 * (measured, clipped to the sample); samples excluded by the harness (a store outage overlapped them) are
 * counted with their reasons.
 */
export function checkFailover(d: ChaosData): CheckResult {
  const v = new Verdict('failover within bound');
  const counts: Record<string, number | string> = {};
  const pauses = d.harness.txPauses ?? [];
  const offset = d.harness.dbClockOffsetMs ?? 0;
  const cuts = [
    ...(d.harness.partitions ?? []).map((p) => ({ fromMs: p.cutAtMs, toMs: p.healedAtMs })),
    ...d.harness.stops.filter((s) => s.inTransaction).map((s) => ({ fromMs: s.stoppedAtMs - offset, toMs: s.resumedAtMs - offset })),
  ];
  for (const fault of ['kill9', 'sigstop', 'sigterm'] as const) {
    const samples = d.harness.failovers.filter((f) => f.fault === fault);
    const held = samples.filter((f) => !f.excluded);
    const bound = fault === 'sigterm' ? d.harness.handoffBoundMs : d.harness.failoverBoundMs;
    const lat = held.filter((f) => f.latencyMs !== null).map((f) => f.latencyMs as number);
    let rowLocked = 0;
    for (const f of held) {
      const locked = rowLockedDuring(f, pauses, offset, cuts);
      if (locked) rowLocked++;
      const why = locked ? ` + ${locked} ms rows were held by a paused transaction, a runner paused inside one or a partitioned host` : '';
      // A forced stop hands nothing over: its leases lapse, from the second signal on.
      const limit = f.forcedAfterMs === undefined ? bound : Math.max(bound, f.forcedAfterMs + d.harness.failoverBoundMs);
      const forced = f.forcedAfterMs === undefined ? '' : ` (forced ${ms(f.forcedAfterMs)} ms after the first signal: bound ${limit} ms)`;
      if (f.latencyMs === null) v.fail(`${fault}: ${f.executionId} did not continue elsewhere`);
      else if (f.latencyMs > limit + locked) v.fail(`${fault}: ${f.executionId} continued after ${ms(f.latencyMs)} ms > bound ${bound} ms${forced}${why}`);
    }
    counts[`${fault}_samples`] = held.length;
    if (lat.length) counts[`${fault}_p50_ms`] = ms(percentile(lat, 0.5));
    if (lat.length) counts[`${fault}_max_ms`] = ms(Math.max(...lat));
    if (rowLocked) counts[`${fault}_bound_plus_lock_hold`] = rowLocked;
    const excluded = samples.filter((f) => f.excluded);
    if (excluded.length) {
      counts[`${fault}_excluded`] = excluded.length;
      counts[`${fault}_excluded_why`] = `"${[...groupBy(excluded, (f) => f.excluded as string)].map(([why, l]) => `${why} ×${l.length}`).join(', ')}"`;
    }
  }
  counts.bound_ms = d.harness.failoverBoundMs;
  counts.handoff_bound_ms = d.harness.handoffBoundMs;
  return v.done(counts);
}

/**
 * After the last fault the run settles (every execution terminal) within TTL + poll + max backoff
 * + the remaining work: the planned step time, or — when longer — the measured run time of the
 * final batch's executions the fault did not touch (steps and commits as the cluster runs them then).
 */
export function checkQuiesce(d: ChaosData): CheckResult {
  const v = new Verdict('quiesce after the last fault');
  const q = d.harness.quiesce;
  if (!q) {
    v.fail('no final fault was injected: quiesce time not measured');
    return v.done({});
  }
  const took = q.quiescedAtMs === null ? null : q.quiescedAtMs - q.lastFaultAtMs;
  // The batch's executions the fault did not touch: how long one runs here right now.
  const touched = new Set(d.harness.failovers.filter((f) => f.faultAtMs === q.lastFaultAtMs).map((f) => f.executionId));
  const runs = d.executions.filter((e) => q.batchIds?.includes(e.id) && !touched.has(e.id) && e.finishedAtMs !== null).map((e) => (e.finishedAtMs as number) - e.createdAtMs);
  const measured = runs.length ? Math.round(Math.max(...runs)) : 0;
  const work = q.terms.remaining_work_ms ?? 0;
  const bound = measured > work ? q.boundMs - work + measured : q.boundMs;
  if (took === null) v.fail(`did not quiesce after the last fault (${q.lastFault})`);
  else if (took > bound) v.fail(`quiesced ${ms(took)} ms after the last fault (${q.lastFault}), bound ${bound} ms`);
  return v.done({ last_fault: q.lastFault, quiesce_ms: took === null ? 'never' : ms(took), bound_ms: bound, ...q.terms, ...(runs.length ? { untouched_batch_run_max_ms: measured } : {}) });
}

/** Every invariant, in report order. */

/**
 * A transaction paused with an execution's row locked stalls that execution only: while it
 * lasted, other executions kept committing (when there was work), and the locked one went on to
 * finish afterwards (checkTerminal covers the finish).
 */
export function checkTxPauses(d: ChaosData): CheckResult {
  const v = new Verdict('pause inside a transaction: others progress, the locked one resumes');
  const pauses = d.harness.txPauses ?? [];
  let windows = 0;
  for (const p of pauses) {
    const others = d.events.filter((e) => e.executionId !== p.executionId && e.createdAtMs >= p.lockedAtMs && e.createdAtMs <= p.releasedAtMs).length;
    const busy = d.executions.some((e) => e.id !== p.executionId && e.createdAtMs < p.lockedAtMs && (e.finishedAtMs === null || e.finishedAtMs > p.releasedAtMs));
    if (p.releasedAtMs - p.lockedAtMs >= 4000 && busy) {
      windows++;
      if (others === 0) v.fail(`while ${p.executionId}'s row was locked (${Math.round(p.releasedAtMs - p.lockedAtMs)} ms) no other execution committed anything`);
    }
    const locked = d.executions.find((e) => e.id === p.executionId);
    if (locked && locked.finishedAtMs !== null && locked.finishedAtMs < p.lockedAtMs) continue;
    if (!locked) v.fail(`paused-transaction target ${p.executionId} has no row`);
  }
  return v.done({ pauses: pauses.length, checked_windows: windows });
}
