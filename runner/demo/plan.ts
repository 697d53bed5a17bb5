/**
 * The dev demo's script: which executions of the example workflows to submit and when, the
 * signals and cancellations sent partway, when to kill a replica, and the outcome each
 * execution must end with. Pure and deterministic: the same mode gives the same plan.
 */
import type { Duration, WorkflowDefinition } from '../../engine';
import { order, type OrderInput } from '../../workflows/order';
import { reminder, type ReminderInput } from '../../workflows/reminder';
import { fanOut, type FanOutInput } from '../../workflows/fan-out';
import { approval, type ApprovalDecision, type ApprovalInput } from '../../workflows/approval';

/** How a planned execution must end. */
export type Outcome = 'completed' | 'failed' | 'cancelled';

/** One execution to submit. */
export interface PlannedStart {
  id: string;
  /** The id without the run prefix, for display. */
  label: string;
  workflow: WorkflowDefinition<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  input: unknown;
  /** Submitted this long after the demo started. */
  atMs: number;
  expected: Outcome;
  /** Child executions it creates (all complete). */
  children: number;
}

/** A signal or cancellation sent partway. */
export interface PlannedAction {
  atMs: number;
  id: string;
  label: string;
  kind: 'signal' | 'cancel';
  signal?: { name: string; payload: ApprovalDecision };
  reason?: string;
}

/** The whole script. */
export interface DemoPlan {
  starts: PlannedStart[];
  actions: PlannedAction[];
  /** Kill a replica at the first moment after this when one holds leases. */
  killAfterMs: number;
  /** Executions that must exist and be finished at the end (starts + children). */
  expectedRows: number;
  concurrency: number;
  leaseTtl: Duration;
  pollInterval: Duration;
  /** Give up (with an error) after this long. */
  timeoutMs: number;
}

interface Draft { label: string; workflow: WorkflowDefinition<any, any>; input: unknown; expected: Outcome; children: number; action?: Omit<PlannedAction, 'atMs' | 'id' | 'label'> & { afterMs: number } } // eslint-disable-line @typescript-eslint/no-explicit-any

const pad = (n: number) => String(n).padStart(2, '0');

function orders(n: number, declined: number[], flaky: number[], cancelled: number[], warehouse: number[]): Draft[] {
  return Array.from({ length: n }, (_, k) => {
    const i = k + 1;
    const card = declined.includes(i) ? 'declined' : flaky.includes(i) ? 'flaky' : 'ok';
    const input: OrderInput = { orderId: `o${pad(i)}`, customerId: `c${(i % 5) + 1}`, amount: 1000 + i * 250, items: (i % 4) + 1, card };
    if (cancelled.includes(i)) input.warehouseDelay = '2m';
    else if (warehouse.includes(i)) input.warehouseDelay = '2s';
    return {
      label: `order-${pad(i)}`, workflow: order, input, children: 0,
      expected: cancelled.includes(i) ? 'cancelled' : card === 'declined' ? 'failed' : 'completed',
      action: cancelled.includes(i) ? { kind: 'cancel', reason: 'customer changed their mind', afterMs: 2500 } : undefined,
    };
  });
}

function reminders(delays: string[]): Draft[] {
  return delays.map((delay, k) => {
    const input: ReminderInput = { to: `user${k + 1}@example.com`, message: 'your order ships soon', delay };
    return { label: `reminder-${pad(k + 1)}`, workflow: reminder, input, expected: 'completed', children: 0 };
  });
}

function fanOuts(counts: number[]): Draft[] {
  return counts.map((count, k) => {
    const input: FanOutInput = { count, base: k * 10 + 1 };
    return { label: `fan-out-${pad(k + 1)}`, workflow: fanOut, input, expected: 'completed', children: count };
  });
}

/** `decisions[i]`: the signal payload sent to approval i+1, or null to let it time out. */
function approvals(decisions: (ApprovalDecision | null)[]): Draft[] {
  return decisions.map((decision, k) => {
    const input: ApprovalInput = { requestId: `r${pad(k + 1)}`, amount: 5000 + k * 1000, timeout: decision === null ? '4s' : '2m' };
    return {
      label: `approval-${pad(k + 1)}`, workflow: approval, input, expected: 'completed', children: 0,
      action: decision === null ? undefined : { kind: 'signal', signal: { name: 'approve', payload: decision }, afterMs: 2000 + (k % 3) * 1000 },
    };
  });
}

/** Mix the kinds so the stream of submissions interleaves them evenly. */
function interleave(groups: Draft[][]): Draft[] {
  const keyed = groups.flatMap((g, gi) => g.map((d, i) => ({ d, key: (i + 0.5) / g.length + gi * 1e-6 })));
  return keyed.sort((a, b) => a.key - b.key).map((k) => k.d);
}

/** The plan for one run; `prefix` makes its ids unique (e.g. `dev-1a2b3c-`). */
export function buildPlan(prefix: string, quick: boolean): DemoPlan {
  const drafts = quick
    ? interleave([
      orders(6, [4], [2], [5], []),
      reminders(['2s', '3s']),
      fanOuts([3, 3]),
      approvals([true, { approved: false, by: 'bob' }, null]),
    ])
    : interleave([
      orders(16, [4, 9, 14], [3, 7, 12], [6, 11], [2, 15]),
      reminders(['3s', '4s', '5s', '6s', '8s', '9s', '10s', '12s']),
      fanOuts([4, 5, 4, 5]),
      approvals([true, { approved: true, by: 'ada' }, null, true, { approved: false, by: 'bob' }, null, { approved: true, by: 'grace' }, null]),
    ]);
  const windowMs = quick ? 4000 : 16_000;
  const step = windowMs / Math.max(1, drafts.length - 1);
  const starts: PlannedStart[] = [];
  const actions: PlannedAction[] = [];
  drafts.forEach((d, i) => {
    const atMs = Math.round(i * step);
    const id = prefix + d.label;
    starts.push({ id, label: d.label, workflow: d.workflow, input: d.input, atMs, expected: d.expected, children: d.children });
    if (d.action) {
      const { afterMs, ...rest } = d.action;
      actions.push({ ...rest, atMs: atMs + afterMs, id, label: d.label });
    }
  });
  actions.sort((a, b) => a.atMs - b.atMs);
  return {
    starts, actions,
    killAfterMs: quick ? 1500 : 6000,
    expectedRows: starts.reduce((n, s) => n + 1 + s.children, 0),
    concurrency: 4,
    leaseTtl: '3s',
    pollInterval: '200ms',
    timeoutMs: quick ? 60_000 : 120_000,
  };
}
