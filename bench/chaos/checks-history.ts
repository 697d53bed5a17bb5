/**
 * Chaos invariants over the history: every execution accounted for and terminal, every step
 * committed exactly once with the right result, and the fencing proofs (token order, committed
 * steps matched with the bodies that ran under their token, no commit after a newer lease began).
 */
import { isDeepStrictEqual } from 'node:util';
import { ChaosWorkflow, SIGNAL_NAME, type SignalPayload, type StepsInput } from './shapes';
import type { ChaosData, CheckResult } from './check-types';
import { canon, groupBy, Index, ms, parseJson, sortedCanon, TERMINAL, Verdict } from './check-helpers';

/** Every submitted execution exists exactly once (duplicate starts made no second row), children as planned, nothing else. */
export function checkAccounting(d: ChaosData, ix = new Index(d)): CheckResult {
  const v = new Verdict('executions accounted for');
  const startCalls = d.harness.submissions.reduce((n, s) => n + s.starts, 0);
  for (const s of d.harness.submissions) if (!ix.execById.has(s.id)) v.fail(`submitted ${s.id} (${s.workflow}) has no row: lost`);
  for (const f of d.harness.startFailures) v.fail(`start of ${f.id} failed: ${f.error}`);
  const seen = new Set<string>();
  for (const e of d.executions) {
    if (seen.has(e.id)) v.fail(`execution id ${e.id} appears twice`);
    seen.add(e.id);
    if (e.id.includes('#')) v.fail(`archived copy ${e.id}: a duplicate start re-ran a finished execution`);
    if (e.parentId === null && !ix.submitted.has(e.id)) v.fail(`row ${e.id} was never submitted`);
    if (e.parentId !== null && !ix.execById.has(e.parentId)) v.fail(`child ${e.id} has no parent row ${e.parentId}`);
  }
  let expectedChildren = 0;
  let children = 0;
  for (const e of d.executions) {
    if (e.workflow !== ChaosWorkflow.parent) continue;
    const want = (ix.shape(e)?.children ?? []) as StepsInput[];
    const got = ix.childrenByParent.get(e.id) ?? [];
    expectedChildren += want.length;
    children += got.length;
    if (got.length > want.length || (e.status === 'completed' && got.length !== want.length)) {
      v.fail(`parent ${e.id}: ${got.length} children, planned ${want.length}`);
    } else if (e.status === 'completed' && !isDeepStrictEqual(sortedCanon(got.map((c) => c.input)), sortedCanon(want))) {
      v.fail(`parent ${e.id}: children inputs differ from the plan`);
    }
    const started = new Set(ix.events(e.id).filter((ev) => ev.kind === 'child_start').map((ev) => (parseJson(ev.payload) as { childId?: string })?.childId));
    for (const c of got) if (!started.has(c.id)) v.fail(`child ${c.id} has no child_start event in ${e.id}`);
  }
  return v.done({
    submitted: d.harness.submissions.length, start_calls: startCalls, duplicate_start_calls: startCalls - d.harness.submissions.length,
    rows: d.executions.length, children: `${children}/${expectedChildren}`,
  });
}

/** Every execution is terminal, with the status its workflow must end in. */
export function checkTerminal(d: ChaosData, ix = new Index(d)): CheckResult {
  const v = new Verdict('every execution terminal, as expected');
  const byStatus: Record<string, number> = {};
  for (const e of d.executions) {
    byStatus[e.status] = (byStatus[e.status] ?? 0) + 1;
    if (!TERMINAL.has(e.status)) {
      v.fail(`${e.id} (${e.workflow}) is ${e.status}${e.waitFor ? ` waiting for ${e.waitFor}` : ''}${e.runnerId ? ` on ${e.runnerId}` : ''}, token ${e.leaseToken}`);
      continue;
    }
    const shape = ix.shape(e);
    if (!shape) continue;
    if (e.status !== shape.status) {
      v.fail(`${e.id} (${e.workflow}) ended ${e.status}, expected ${shape.status}${e.error ? `: ${e.error.name}: ${e.error.message}` : ''}`);
    }
  }
  return v.done({ executions: d.executions.length, ...byStatus });
}

/** Each step committed exactly once: every expected step name once, in order, nothing extra. */
export function checkStepsOnce(d: ChaosData, ix = new Index(d)): CheckResult {
  const v = new Verdict('every step committed exactly once');
  let stepEvents = 0;
  let checked = 0;
  for (const e of d.executions) {
    const steps = ix.events(e.id).filter((ev) => ev.kind === 'step');
    stepEvents += steps.length;
    for (const [name, list] of groupBy(steps, (s) => s.name)) {
      if (list.length > 1) v.fail(`${e.id}: step "${name}" committed ${list.length} times (seqs ${list.map((l) => l.seq).join(', ')})`);
    }
    const shape = ix.shape(e);
    if (!shape || !TERMINAL.has(e.status) || e.status !== shape.status) continue;
    checked++;
    const names = steps.map((s) => s.name);
    if (!isDeepStrictEqual(names, shape.steps)) {
      v.fail(`${e.id} (${e.workflow}): committed steps [${names.join(', ')}], expected [${shape.steps.join(', ')}]`);
      continue;
    }
    for (const s of steps) {
      const want = s.name === shape.failedStep ? 'failed' : 'completed';
      if (s.status !== want) v.fail(`${e.id}: step "${s.name}" committed as ${s.status}, expected ${want}`);
    }
  }
  return v.done({ executions_checked: checked, step_events: stepEvents });
}

/** Outputs follow from the inputs (replay returned the committed results). */
export function checkOutputs(d: ChaosData, ix = new Index(d)): CheckResult {
  const v = new Verdict('outputs match the committed results');
  let checked = 0;
  const sentByExec = groupBy(d.harness.sentSignals, (s) => s.executionId);
  for (const e of d.executions) {
    if (e.status !== 'completed') continue;
    const shape = ix.shape(e);
    if (!shape) continue;
    checked++;
    if (e.workflow === ChaosWorkflow.signals) {
      const got = Array.isArray(e.output) ? (e.output as SignalPayload[]) : [];
      const sent = (sentByExec.get(e.id) ?? []).filter((s) => s.name === SIGNAL_NAME).map((s) => s.payload);
      if (!isDeepStrictEqual(sortedCanon(got), sortedCanon(sent))) v.fail(`${e.id}: received ${canon(got)}, sent ${canon(sent)}`);
    } else if (!isDeepStrictEqual(canon(e.output), canon(shape.output))) {
      v.fail(`${e.id} (${e.workflow}): output ${canon(e.output)}, expected ${canon(shape.output)}`);
    }
    if (e.workflow === ChaosWorkflow.parent) {
      for (const ev of ix.events(e.id).filter((x) => x.kind === 'child_result')) {
        const child = ix.execById.get(ev.name);
        if (!child) v.fail(`${e.id}: child_result for unknown child ${ev.name}`);
        else if (!isDeepStrictEqual(canon(parseJson(ev.payload)), canon(child.output))) v.fail(`${e.id}: child_result of ${ev.name} differs from the child's output`);
      }
    }
  }
  return v.done({ completed_checked: checked });
}

/**
 * Fencing, from the history alone: per execution, event tokens never decrease along the
 * sequence and never exceed the execution's final token.
 */
export function checkTokenOrder(d: ChaosData, ix = new Index(d)): CheckResult {
  const v = new Verdict('fencing: event tokens monotone and ≤ final token');
  let executions = 0;
  let takeovers = 0;
  for (const e of d.executions) {
    const evs = ix.events(e.id);
    if (evs.length === 0) continue;
    executions++;
    let prev = 0;
    for (const ev of evs) {
      if (ev.leaseToken < 1) v.fail(`${e.id} seq ${ev.seq}: token ${ev.leaseToken} (never granted)`);
      if (ev.leaseToken < prev) v.fail(`${e.id} seq ${ev.seq}: token ${ev.leaseToken} after token ${prev} — a stale holder committed`);
      if (ev.leaseToken > e.leaseToken) v.fail(`${e.id} seq ${ev.seq}: token ${ev.leaseToken} above the execution's token ${e.leaseToken}`);
      if (prev > 0 && ev.leaseToken > prev) takeovers++;
      prev = Math.max(prev, ev.leaseToken);
    }
  }
  return v.done({ executions, token_changes_within_histories: takeovers });
}

/**
 * Fencing, against the side table: every committed step came from a body that ran under the
 * committing token (and the same step attempt), and a committed step never ran again under a
 * later lease (SPEC §4.2: once committed, never re-run).
 */
export function checkCommittedAttempts(d: ChaosData, ix = new Index(d)): CheckResult {
  const v = new Verdict('fencing: committed steps came from their lease, never re-ran');
  let matched = 0;
  let reruns = 0;
  let uncommitted = 0;
  for (const e of d.executions) {
    const attempts = ix.attempts(e.id);
    const bySeq = groupBy(attempts, (a) => String(a.seq));
    for (const ev of ix.events(e.id)) {
      if (ev.kind !== 'step') continue;
      const here = bySeq.get(String(ev.seq)) ?? [];
      const mine = here.filter((a) => a.leaseToken === ev.leaseToken && a.step === ev.name && a.outcome !== 'crash');
      if (mine.length === 0) {
        v.fail(`${e.id} seq ${ev.seq} "${ev.name}": committed under token ${ev.leaseToken} but no body ran under that token (attempt tokens: ${here.map((a) => a.leaseToken).join(', ') || 'none'})`);
        continue;
      }
      if (!mine.some((a) => a.stepAttempt === ev.attempt)) v.fail(`${e.id} seq ${ev.seq}: committed step attempt ${ev.attempt}, bodies ran attempts ${mine.map((a) => a.stepAttempt).join(', ')}`);
      matched++;
      for (const a of here) {
        if (a.leaseToken > ev.leaseToken) {
          reruns++;
          v.fail(`${e.id} seq ${ev.seq} "${ev.name}": committed under token ${ev.leaseToken}, yet ran again under token ${a.leaseToken} (${a.runnerId})`);
        } else if (a.leaseToken < ev.leaseToken) {
          uncommitted++;
        }
      }
    }
  }
  return v.done({ committed_steps_matched: matched, attempts_discarded_older_token: uncommitted, reruns_after_commit: reruns });
}

/**
 * Fencing, on the DB clock: a grant of token t+1 happens after every commit under token t, so no
 * event of token t may be created after a body under a higher token started.
 */
export function checkNoStaleCommit(d: ChaosData, ix = new Index(d)): CheckResult {
  const v = new Verdict('fencing: no commit after a newer lease started (DB clock)');
  let pairs = 0;
  for (const e of d.executions) {
    const attempts = ix.attempts(e.id);
    if (attempts.length === 0) continue;
    // Earliest body start per token, then for each token the earliest start under any higher one.
    const firstStart = new Map<number, number>();
    for (const a of attempts) firstStart.set(a.leaseToken, Math.min(firstStart.get(a.leaseToken) ?? Infinity, a.startedAtMs));
    const tokens = [...firstStart.keys()].sort((a, b) => a - b);
    for (const ev of ix.events(e.id)) {
      const above = tokens.filter((t) => t > ev.leaseToken).reduce((m, t) => Math.min(m, firstStart.get(t) as number), Infinity);
      if (above === Infinity) continue;
      pairs++;
      if (ev.createdAtMs > above) {
        v.fail(`${e.id} seq ${ev.seq} (${ev.kind} "${ev.name}"): committed under token ${ev.leaseToken} at ${ms(ev.createdAtMs)}, ` +
          `${ms(ev.createdAtMs - above)} ms after a body under a newer token started`);
      }
    }
  }
  return v.done({ event_vs_newer_lease_pairs: pairs });
}

/** Template serialization: the committed effects of one key's executions never overlap; admission is FIFO. */
