/**
 * Example: a reminder. A durable timer (hours, by default) that survives restarts and
 * replicas coming and going, then one step that "sends" the reminder exactly once.
 */
import { defineWorkflow, type Duration } from '../engine';

/** Input of `reminder`. */
export interface ReminderInput {
  to: string;
  message: string;
  /** How long to wait before sending. @default '1h' */
  delay?: Duration;
}

/** Output of `reminder`. */
export interface ReminderResult {
  to: string;
  messageId: string;
  scheduledAt: string;
}

export const reminder = defineWorkflow({ name: 'reminder', version: 1 }, async (ctx, input: ReminderInput): Promise<ReminderResult> => {
  const scheduledAt = ctx.now();
  ctx.setStatus({ state: 'scheduled', delay: input.delay ?? '1h' });
  await ctx.sleep('wait', input.delay ?? '1h');
  const sent = await ctx.step('send', async ({ idempotencyKey }) => {
    await new Promise((r) => setTimeout(r, 50));
    // The idempotency key is what an email provider would deduplicate on.
    return { messageId: `msg-${idempotencyKey}` };
  });
  ctx.setStatus({ state: 'sent' });
  return { to: input.to, messageId: sent.messageId, scheduledAt: scheduledAt.toISOString() };
});
