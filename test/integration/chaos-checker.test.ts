/**
 * The chaos checker's invariants on synthetic rows: each one passes on a clean run and detects a
 * violation planted into it. Pure functions only: no database, no processes.
 */
import {
  checkAccounting, checkCommittedAttempts, checkCrashes, checkFailover, checkNoStaleCommit, checkOutputs, checkPoison, checkProbes,
  checkQuiesce, checkSignals, checkStepsOnce, checkTemplates, checkTerminal, checkTokenOrder, checkTxPauses, checkZombies, runChecks,
  type AttemptRow, type ChaosData, type EventRow, type ExecRow, type SignalRow,
} from '../../bench/chaos/checker';
import { planFaults } from '../../bench/chaos/faults';
import { checkHostile } from '../../bench/chaos/hostile';
import { createRng } from '../../bench/chaos/random';
import { ChaosWorkflow } from '../../bench/chaos/shapes';
import { planWorkload } from '../../bench/chaos/workload';

const T0 = 1_800_000_000_000;

/** Builds a consistent little run: executions with their events and the bodies that produced them. */
class RunBuilder {
  executions: ExecRow[] = [];
  events: EventRow[] = [];
  attempts: AttemptRow[] = [];
  signals: SignalRow[] = [];
  #clock = T0;
  #ids = 0;

  tick(ms = 10): number {
    this.#clock += ms;
    return this.#clock;
  }

  exec(id: string, workflow: string, input: unknown, o: Partial<ExecRow> = {}): ExecRow {
    const row: ExecRow = {
      id, workflow, status: 'completed', input, output: null, error: null, leaseToken: 1, attempt: 1, parentId: null, templateKey: null,
      createdAtMs: this.tick(1), finishedAtMs: null, waitFor: null, runnerId: null, ...o,
    };
    this.executions.push(row);
    return row;
  }

  /** A step body that ran under `token` (and committed, unless `commit` is false). */
  step(e: ExecRow, seq: number, name: string, token: number, o: { runner?: string; stepAttempt?: number; commit?: boolean; status?: string; outcome?: string; startedAtMs?: number } = {}): AttemptRow {
    const startedAtMs = o.startedAtMs ?? this.tick();
    const a: AttemptRow = {
      id: `a${++this.#ids}`, executionId: e.id, workflow: e.workflow, step: name, seq, stepAttempt: o.stepAttempt ?? 1, leaseToken: token,
      runnerId: o.runner ?? 'r1', pid: 100, templateKey: e.templateKey, outcome: o.outcome ?? 'ok', startedAtMs, finishedAtMs: this.tick(),
    };
    this.attempts.push(a);
    if (o.commit !== false) this.event(e, seq, 'step', name, token, { status: o.status ?? 'completed', attempt: a.stepAttempt, payload: JSON.stringify(name) });
    return a;
  }

  event(e: ExecRow, seq: number, kind: string, name: string, token: number, o: { status?: string; attempt?: number; payload?: string | null } = {}): EventRow {
    const ev: EventRow = {
      executionId: e.id, seq, kind, name, status: o.status ?? 'completed', payload: o.payload ?? null, attempt: o.attempt ?? 1, leaseToken: token, createdAtMs: this.tick(1),
    };
    this.events.push(ev);
    return ev;
  }

  finish(e: ExecRow): void {
    e.finishedAtMs = this.tick(1);
  }
}

function cleanRun(): ChaosData {
  const b = new RunBuilder();
  // Plain steps, one lease.
  const e1 = b.exec('e1', ChaosWorkflow.steps, { work: [1, 1] }, { output: ['s0', 's1'] });
  b.event(e1, 0, 'value', 'random', 1, { status: 'recorded', payload: '0.5' });
  b.step(e1, 1, 's0', 1);
  b.step(e1, 2, 's1', 1);
  b.finish(e1);
  // A takeover: r1 was paused inside s1; r2 re-ran it under token 2 and committed.
  const e2 = b.exec('e2', ChaosWorkflow.steps, { work: [1, 1, 1] }, { output: ['s0', 's1', 's2'], leaseToken: 2, attempt: 2 });
  b.event(e2, 0, 'value', 'random', 1, { status: 'recorded', payload: '0.1' });
  b.step(e2, 1, 's0', 1);
  const zombie = b.step(e2, 2, 's1', 1, { commit: false });
  const stop = { runnerId: 'r1', pid: 100, stoppedAtMs: zombie.startedAtMs + 1, resumedAtMs: b.tick(3000) };
  zombie.finishedAtMs = stop.resumedAtMs + 5;
  b.step(e2, 2, 's1', 2, { runner: 'r2' });
  b.step(e2, 3, 's2', 2, { runner: 'r2' });
  b.finish(e2);
  // Two serialized executions of one template key.
  for (const id of ['e3', 'e4']) {
    const e = b.exec(id, ChaosWorkflow.serial, { key: 'k0', work: 1 }, { templateKey: 'k0', output: 'k0' });
    b.step(e, 0, 'enter', 1);
    b.step(e, 1, 'exit', 1);
    b.finish(e);
  }
  // Signals: two sends of one value, concurrently (duplicates), each delivered once.
  const p1 = { v: 'g0', nonce: 'e5-n0' };
  const p2 = { v: 'g0', nonce: 'e5-n1' };
  const e5 = b.exec('e5', ChaosWorkflow.signals, { count: 2, work: 1, timeoutProbe: false }, { output: [p2, p1] });
  b.step(e5, 0, 'ready', 1);
  b.signals.push({ id: 1, executionId: 'e5', name: 'go', payload: JSON.stringify(p1), consumedSeq: 2 });
  b.signals.push({ id: 2, executionId: 'e5', name: 'go', payload: JSON.stringify(p2), consumedSeq: 1 });
  b.event(e5, 1, 'signal', 'go', 1, { status: 'delivered', payload: JSON.stringify(p2) });
  b.event(e5, 2, 'signal', 'go', 1, { status: 'delivered', payload: JSON.stringify(p1) });
  b.step(e5, 3, 'done', 1);
  b.finish(e5);
  // A parent and its child.
  const e6 = b.exec('e6', ChaosWorkflow.parent, { children: [{ work: [1] }], parallel: false, work: 1 }, { output: [['s0']] });
  b.step(e6, 0, 'plan', 1);
  b.event(e6, 1, 'child_start', ChaosWorkflow.child, 1, { status: 'started', payload: JSON.stringify({ childId: 'e6/1' }) });
  const child = b.exec('e6/1', ChaosWorkflow.child, { work: [1] }, { parentId: 'e6', output: ['s0'] });
  b.step(child, 0, 's0', 1);
  b.finish(child);
  b.event(e6, 2, 'child_result', 'e6/1', 1, { payload: JSON.stringify(['s0']) });
  b.step(e6, 3, 'sum', 1);
  b.finish(e6);
  // Poison: three attempts, the last one committed as failed.
  const e7 = b.exec('e7', ChaosWorkflow.poison, { work: 1 }, { status: 'failed', error: { name: 'PoisonError', message: 'poisoned (attempt 3)' } });
  b.step(e7, 0, 'ok', 1);
  b.step(e7, 1, 'poison', 1, { stepAttempt: 1, commit: false, outcome: 'error' });
  b.step(e7, 1, 'poison', 1, { stepAttempt: 2, commit: false, outcome: 'error' });
  b.step(e7, 1, 'poison', 1, { stepAttempt: 3, status: 'failed', outcome: 'error' });
  b.finish(e7);
  // Crasher: killed its runner under token 1, completed under token 2.
  const e8 = b.exec('e8', ChaosWorkflow.crasher, { work: 1 }, { output: ['pre', 'boom', 'post'], leaseToken: 2, attempt: 2 });
  b.step(e8, 0, 'pre', 1);
  b.step(e8, 1, 'boom', 1, { commit: false, outcome: 'crash' }).finishedAtMs = null;
  b.step(e8, 1, 'boom', 2, { runner: 'r2' });
  b.step(e8, 2, 'post', 2, { runner: 'r2' });
  b.finish(e8);

  return {
    executions: b.executions, events: b.events, attempts: b.attempts, signals: b.signals,
    harness: {
      submissions: ['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8'].map((id) => {
        const e = b.executions.find((x) => x.id === id) as ExecRow;
        return { id, workflow: e.workflow, input: e.input, starts: id === 'e3' ? 3 : 1 };
      }),
      startFailures: [],
      sentSignals: [{ executionId: 'e5', name: 'go', payload: p1 }, { executionId: 'e5', name: 'go', payload: p2 }],
      signalFailures: [],
      stops: [stop],
      probes: [
        { executionId: 'e2', token: 1, currentToken: 2, variant: 'stale-checkpoint', result: 'rejected', detail: 'LeaseLostError' },
        { executionId: 'e1', token: 1, currentToken: 1, variant: 'after-finish', result: 'rejected', detail: 'LeaseLostError' },
      ],
      failovers: [
        { fault: 'kill9', executionId: 'e2', faultAtMs: T0, latencyMs: 2400 },
        { fault: 'sigstop', executionId: 'e2', faultAtMs: T0, latencyMs: 2600 },
        { fault: 'sigterm', executionId: 'e1', faultAtMs: T0, latencyMs: 300 },
      ],
      failoverBoundMs: 3650,
      handoffBoundMs: 5000,
      quiesce: { lastFault: 'kill9', lastFaultAtMs: T0, quiescedAtMs: T0 + 3000, boundMs: 3970, terms: { ttl_ms: 2000 } },
      requireZombies: true,
    },
  };
}

const find = <T>(items: T[], pred: (t: T) => boolean): T => {
  const found = items.find(pred);
  if (!found) throw new Error('fixture row not found');
  return found;
};
const ev = (d: ChaosData, id: string, seq: number) => find(d.events, (e) => e.executionId === id && e.seq === seq);
const ex = (d: ChaosData, id: string) => find(d.executions, (e) => e.id === id);

describe('chaos checker', () => {
  test('a clean run passes every invariant, and no check is vacuous', () => {
    const results = runChecks(cleanRun());
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results).toHaveLength(16);
    const counts = Object.fromEntries(results.map((r) => [r.name, r.counts]));
    expect(counts['executions accounted for']).toMatchObject({ submitted: 8, duplicate_start_calls: 2, rows: 9, children: '1/1' });
    expect(counts['every step committed exactly once']).toMatchObject({ executions_checked: 9 });
    expect(counts['fencing: committed steps came from their lease, never re-ran']).toMatchObject({ attempts_discarded_older_token: 2, reruns_after_commit: 0 });
    expect(counts['signals stored and delivered exactly once']).toMatchObject({ sent: 2, concurrent_duplicates: 1, delivered: 2 });
    expect(counts['zombies fenced off']).toMatchObject({ zombie_attempts_fenced: 1 });
    expect(counts['self-crashes recovered']).toMatchObject({ runner_processes_crashed: 1 });
  });

  test('accounting detects a lost execution, a row nobody submitted, a failed duplicate start and an archived re-run', () => {
    const d = cleanRun();
    d.executions = d.executions.filter((e) => e.id !== 'e4');
    d.executions.push({ ...ex(d, 'e1'), id: 'stranger' }, { ...ex(d, 'e1'), id: 'e1#1' });
    d.harness.startFailures.push({ id: 'e3', error: 'WorkflowIdConflictError' });
    const r = checkAccounting(d);
    expect(r.ok).toBe(false);
    expect(r.violations.join('\n')).toMatch(/e4 .*lost/);
    expect(r.violations.join('\n')).toMatch(/stranger was never submitted/);
    expect(r.violations.join('\n')).toMatch(/start of e3 failed/);
    expect(r.violations.join('\n')).toMatch(/archived copy e1#1/);
  });

  test('accounting detects a missing child', () => {
    const d = cleanRun();
    d.executions = d.executions.filter((e) => e.id !== 'e6/1');
    expect(checkAccounting(d).violations.join('\n')).toMatch(/parent e6: 0 children, planned 1/);
  });

  test('terminal detects an execution left running and one that ended with the wrong status', () => {
    const d = cleanRun();
    ex(d, 'e1').status = 'running';
    ex(d, 'e7').status = 'completed';
    const r = checkTerminal(d);
    expect(r.violations).toHaveLength(2);
    expect(checkTerminal(cleanRun()).ok).toBe(true);
  });

  test('steps-once detects a step committed twice and a step never committed', () => {
    const d = cleanRun();
    d.events.push({ ...ev(d, 'e1', 2), seq: 3 });
    expect(checkStepsOnce(d).violations.join('\n')).toMatch(/step "s1" committed 2 times/);
    const d2 = cleanRun();
    d2.events = d2.events.filter((e) => !(e.executionId === 'e2' && e.seq === 3));
    expect(checkStepsOnce(d2).violations.join('\n')).toMatch(/e2 .*expected \[s0, s1, s2\]/);
  });

  test('outputs detect a wrong result and a signal payload never received', () => {
    const d = cleanRun();
    ex(d, 'e1').output = ['s0', 'WRONG'];
    (ex(d, 'e5').output as unknown[]).pop();
    const r = checkOutputs(d);
    expect(r.violations).toHaveLength(2);
    expect(checkOutputs(cleanRun()).ok).toBe(true);
  });

  test('token order detects an event committed under an older token after a newer one', () => {
    const d = cleanRun();
    ev(d, 'e2', 3).leaseToken = 1;
    expect(checkTokenOrder(d).violations.join('\n')).toMatch(/e2 seq 3: token 1 after token 2/);
    const d2 = cleanRun();
    ev(d2, 'e1', 2).leaseToken = 5;
    expect(checkTokenOrder(d2).violations.join('\n')).toMatch(/above the execution's token/);
  });

  test('committed attempts detect an event no body produced under its token, and a committed step that ran again', () => {
    const d = cleanRun();
    ev(d, 'e1', 1).leaseToken = 7;
    expect(checkCommittedAttempts(d).violations.join('\n')).toMatch(/no body ran under that token/);
    const d2 = cleanRun();
    d2.attempts.push({ ...find(d2.attempts, (a) => a.executionId === 'e1' && a.seq === 1), id: 'rerun', leaseToken: 2 });
    const r = checkCommittedAttempts(d2);
    expect(r.violations.join('\n')).toMatch(/yet ran again under token 2/);
    expect(r.counts.reruns_after_commit).toBe(1);
  });

  test('no-stale-commit detects an event of token t created after a token t+1 body started', () => {
    const d = cleanRun();
    const newer = find(d.attempts, (a) => a.executionId === 'e2' && a.leaseToken === 2);
    ev(d, 'e2', 1).createdAtMs = newer.startedAtMs + 50;
    expect(checkNoStaleCommit(d).violations.join('\n')).toMatch(/e2 seq 1 .*50 ms after a body under a newer token started/);
    expect(checkNoStaleCommit(cleanRun()).ok).toBe(true);
  });

  test('templates detect overlapping admitted executions and a FIFO inversion', () => {
    const d = cleanRun();
    const e3enter = find(d.attempts, (a) => a.executionId === 'e3' && a.step === 'enter');
    for (const a of d.attempts.filter((x) => x.executionId === 'e4')) { a.startedAtMs = e3enter.startedAtMs + 1; a.finishedAtMs = e3enter.startedAtMs + 2; }
    expect(checkTemplates(d).violations.join('\n')).toMatch(/key k0: e3 started .* before e4 finished|key k0: e4 started .* before e3 finished/);
    const d2 = cleanRun();
    ex(d2, 'e4').createdAtMs = ex(d2, 'e3').createdAtMs - 5;
    expect(checkTemplates(d2).violations.join('\n')).toMatch(/not FIFO/);
  });

  test('signals detect a double store, a double consumption, an undelivered signal and a payload mismatch', () => {
    const d = cleanRun();
    d.signals.push({ ...d.signals[0], id: 3 });
    expect(checkSignals(d).violations.join('\n')).toMatch(/stored 2 times/);
    const d2 = cleanRun();
    d2.signals[1].consumedSeq = 2;
    expect(checkSignals(d2).violations.join('\n')).toMatch(/two signals consumed at seq 2/);
    const d3 = cleanRun();
    d3.signals[0].consumedSeq = null;
    expect(checkSignals(d3).violations.join('\n')).toMatch(/never delivered/);
    const d4 = cleanRun();
    ev(d4, 'e5', 1).payload = JSON.stringify({ v: 'g9', nonce: 'x' });
    expect(checkSignals(d4).violations.join('\n')).toMatch(/payload differs/);
    // Accepted then lost: a finished execution left a signal neither delivered nor marked undelivered.
    const d5 = cleanRun();
    d5.signals.push({ ...d5.signals[0], id: 9, consumedSeq: null, payload: d5.signals[0].payload });
    ex(d5, 'e5').status = 'failed';
    expect(checkSignals(d5).violations.join('\n')).toMatch(/neither delivered nor marked undelivered/);
    // Marked undelivered while the execution still runs: wrong.
    const d6 = cleanRun();
    d6.signals[1].consumedSeq = -1;
    ex(d6, 'e5').status = 'running';
    expect(checkSignals(d6).violations.join('\n')).toMatch(/marked undelivered, but the execution has not finished/);
  });

  test('paused transactions: a window in which no other execution committed is a violation', () => {
    const d = cleanRun();
    const first = Math.min(...d.events.map((e) => e.createdAtMs));
    d.harness.txPauses = [{ executionId: "e1", lockedAtMs: first - 60_000, releasedAtMs: first - 50_000 }];
    d.executions.push({ ...ex(d, 'e2'), id: 'busy', createdAtMs: first - 70_000, finishedAtMs: null });
    expect(checkTxPauses(d).violations.join('\n')).toMatch(/no other execution committed anything/);
    const ok = cleanRun();
    ok.harness.txPauses = [{ executionId: 'e1', lockedAtMs: first - 1, releasedAtMs: Math.max(...ok.events.map((e) => e.createdAtMs)) + 1 }];
    expect(checkTxPauses(ok).ok).toBe(true);
  });

  test('hostile inputs: an untyped error, a write by a rejected input, a broken round-trip and an unbounded error are violations', () => {
    const clean = checkHostile([
      { label: 'nul id', expect: 'reject', outcome: 'rejected', code: 'VALIDATION', rowsWritten: 0, detail: '' },
      { label: 'emoji id', expect: 'accept', outcome: 'accepted', rowsWritten: 1, roundTrip: true, detail: '' },
    ], [{ id: 'hostile-0.error', status: 'failed', error: JSON.stringify({ name: 'HostileError', code: 'HOSTILE', message: 'h…' }), failedPayloads: [100] }]);
    expect(clean.ok).toBe(true);
    const bad = checkHostile([
      { label: 'a', expect: 'reject', outcome: 'untyped-error', rowsWritten: 0, detail: 'TypeError: x' },
      { label: 'b', expect: 'reject', outcome: 'rejected', code: 'VALIDATION', rowsWritten: 1, detail: '' },
      { label: 'c', expect: 'accept', outcome: 'accepted', rowsWritten: 1, roundTrip: false, detail: '' },
    ], [{ id: 'hostile-0.error', status: 'failed', error: JSON.stringify({ name: 'HostileError', code: 'HOSTILE', message: 'h' }), failedPayloads: [40_000_000] }]);
    expect(bad.violations.join('\n')).toMatch(/untyped error[\s\S]*wrote 1 row[\s\S]*did not read back exactly[\s\S]*over the 2097152-byte limit/);
  });

  test('poison detects an attempt beyond the bound and a poison execution that did not fail', () => {
    const d = cleanRun();
    d.attempts.push({ ...find(d.attempts, (a) => a.executionId === 'e7' && a.stepAttempt === 3), id: 'p4', stepAttempt: 4 });
    expect(checkPoison(d).violations.join('\n')).toMatch(/attempt 4 > 3/);
    const d2 = cleanRun();
    ex(d2, 'e7').status = 'completed';
    expect(checkPoison(d2).ok).toBe(false);
    expect(checkPoison(cleanRun()).ok).toBe(true);
  });

  test('crashes detect a crasher that crashed twice', () => {
    const d = cleanRun();
    d.attempts.push({ ...find(d.attempts, (a) => a.outcome === 'crash'), id: 'c2' });
    expect(checkCrashes(d).ok).toBe(false);
  });

  test('zombies: a run that paused nothing fails when zombies are required, and passes with a note otherwise', () => {
    const d = cleanRun();
    d.harness.stops = [];
    expect(checkZombies(d).violations.join('\n')).toMatch(/no runner was paused/);
    d.harness.requireZombies = false;
    const r = checkZombies(d);
    expect(r.ok).toBe(true);
    expect(r.note).toMatch(/no zombie attempt/);
  });

  test('probes detect a stale commit that landed', () => {
    const d = cleanRun();
    d.harness.probes[0].result = 'landed';
    expect(checkProbes(d).ok).toBe(false);
  });

  test('failover detects a slow or missing takeover, and ignores samples excluded by a database restart', () => {
    const d = cleanRun();
    d.harness.failovers.push({ fault: 'kill9', executionId: 'e1', faultAtMs: T0, latencyMs: 9000 });
    d.harness.failovers.push({ fault: 'sigstop', executionId: 'e1', faultAtMs: T0, latencyMs: null });
    expect(checkFailover(d).violations).toHaveLength(2);
    const d2 = cleanRun();
    d2.harness.failovers.push({ fault: 'kill9', executionId: 'e1', faultAtMs: T0, latencyMs: 20000, excluded: 'db restart' });
    expect(checkFailover(d2).ok).toBe(true);
  });

  test('quiesce detects a run that settled too late or never', () => {
    const d = cleanRun();
    (d.harness.quiesce as NonNullable<ChaosData['harness']['quiesce']>).quiescedAtMs = T0 + 5000;
    expect(checkQuiesce(d).ok).toBe(false);
    (d.harness.quiesce as NonNullable<ChaosData['harness']['quiesce']>).quiescedAtMs = null;
    expect(checkQuiesce(d).violations.join('\n')).toMatch(/did not quiesce/);
  });
});

describe('chaos plans', () => {
  test('one seed gives one workload and one fault schedule', () => {
    const a = planWorkload(createRng(42), { durationMs: 60_000, quick: true });
    const b = planWorkload(createRng(42), { durationMs: 60_000, quick: true });
    expect(a).toEqual(b);
    expect(planWorkload(createRng(43), { durationMs: 60_000, quick: true })).not.toEqual(a);
    const f = planFaults(createRng(42), { durationMs: 60_000, leaseTtlMs: 2000, restartDb: false, quick: true });
    expect(f).toEqual(planFaults(createRng(42), { durationMs: 60_000, leaseTtlMs: 2000, restartDb: false, quick: true }));
  });

  test('every workflow, duplicate starts, duplicate signals and every fault kind are planned', () => {
    for (const seed of [1, 2, 3]) {
      const w = planWorkload(createRng(seed), { durationMs: 70_000, quick: true });
      expect(new Set(w.submissions.map((s) => s.workflow))).toEqual(new Set(Object.values(ChaosWorkflow).filter((n) => n !== ChaosWorkflow.child)));
      expect(w.submissions.some((s) => s.starts > 1)).toBe(true);
      expect(w.submissions.some((s) => s.signals.some((g) => g.payloads.length > 1))).toBe(true);
      const kinds = new Set(planFaults(createRng(seed), { durationMs: 70_000, leaseTtlMs: 2000, restartDb: true, quick: true }).map((f) => f.kind));
      expect(kinds).toEqual(new Set(['kill9', 'sigstop', 'kill-connections', 'sigterm', 'stale-commit', 'tx-pause', 'db-restart']));
      const noRestart = planFaults(createRng(seed), { durationMs: 70_000, leaseTtlMs: 2000, restartDb: false, quick: true });
      expect(noRestart.some((f) => f.kind === 'db-restart')).toBe(false);
    }
  });
});
