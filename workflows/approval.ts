/**
 * Example: human approval. Notifies an approver, publishes its state with ctx.setStatus, then
 * waits durably for an `approve` signal up to a timeout. The signal payload is `true`/`false`
 * or `{ approved, by }`; no signal in time means `timed-out`.
 */
import { defineWorkflow, type Duration } from '../engine';

/** Input of `approval`. */
export interface ApprovalInput {
  requestId: string;
  amount: number;
  /** How long to wait for the decision. @default '1d' */
  timeout?: Duration;
}

/** The `approve` signal's payload. */
export type ApprovalDecision = boolean | { approved: boolean; by?: string };

/** Output of `approval`. */
export interface ApprovalResult {
  requestId: string;
  outcome: 'approved' | 'rejected' | 'timed-out';
  by?: string;
}

export const approval = defineWorkflow({ name: 'approval', version: 1 }, async (ctx, input: ApprovalInput): Promise<ApprovalResult> => {
  await ctx.step('notify-approver', async () => {
    await new Promise((r) => setTimeout(r, 50));
    return { notified: true };
  });
  const timeout = input.timeout ?? '1d';
  ctx.setStatus({ state: 'waiting-for-approval', timeout });
  const decision = await ctx.waitForSignal<ApprovalDecision>('approve', { timeout });
  if (decision === undefined) {
    ctx.setStatus({ state: 'timed-out' });
    return { requestId: input.requestId, outcome: 'timed-out' };
  }
  const approved = typeof decision === 'boolean' ? decision : decision.approved === true;
  const by = typeof decision === 'object' && decision !== null ? decision.by : undefined;
  await ctx.step(approved ? 'record-approval' : 'record-rejection', async () => ({ approved }));
  ctx.setStatus({ state: approved ? 'approved' : 'rejected', by });
  return { requestId: input.requestId, outcome: approved ? 'approved' : 'rejected', ...(by === undefined ? {} : { by }) };
});
