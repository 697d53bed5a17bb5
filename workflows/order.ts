/**
 * Example: an order as a saga. Reserve inventory → charge the card (retried, except a declined
 * card) → optionally wait for the warehouse → ship. When anything fails, or the order is
 * cancelled, the compensations of the steps that completed run in reverse order (refund, then
 * release), each itself a durable step, and the original error is rethrown.
 */
import { defineWorkflow, type Duration } from '../engine';

/** Input of `order`. */
export interface OrderInput {
  orderId: string;
  customerId: string;
  /** Amount in cents. */
  amount: number;
  items: number;
  /** Simulated card: `ok` (default), `flaky` (the first attempt fails transiently) or `declined`. */
  card?: 'ok' | 'flaky' | 'declined';
  /** A durable wait for the warehouse between charge and ship (e.g. '30s'). */
  warehouseDelay?: Duration;
}

/** Output of `order`. */
export interface OrderResult {
  orderId: string;
  reservationId: string;
  chargeId: string;
  trackingNumber: string;
}

/** Simulated I/O: resolves after `ms`, rejects early when the step is aborted. */
function work(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(t); reject(signal.reason); };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function namedError(name: string, message: string): Error {
  const err = new Error(message);
  err.name = name;
  return err;
}

export const order = defineWorkflow({ name: 'order', version: 1, retry: { maxAttempts: 3, initialInterval: '200ms' } },
  async (ctx, input: OrderInput): Promise<OrderResult> => {
    const compensations: { name: string; run: (signal: AbortSignal) => Promise<unknown> }[] = [];
    try {
      const reservation = await ctx.step('reserve-inventory', async ({ signal }) => {
        await work(150 + (input.items % 4) * 50, signal);
        return { reservationId: `res-${input.orderId}`, items: input.items };
      });
      compensations.push({ name: 'release-inventory', run: async (signal) => { await work(80, signal); return { released: reservation.reservationId }; } });

      const charge = await ctx.step('charge', async ({ attempt, idempotencyKey, signal }) => {
        await work(200, signal);
        if (input.card === 'declined') throw namedError('CardDeclined', `card of customer ${input.customerId} was declined`);
        if (input.card === 'flaky' && attempt === 1) throw namedError('GatewayTimeout', 'payment gateway timed out');
        return { chargeId: `ch-${input.orderId}`, amount: input.amount, idempotencyKey };
      }, {
        retry: { maxAttempts: 4, initialInterval: '150ms', backoffCoefficient: 2, maxInterval: '2s', nonRetryable: ['CardDeclined'] },
        timeout: '10s',
      });
      compensations.push({ name: 'refund', run: async (signal) => { await work(80, signal); return { refunded: charge.chargeId, amount: charge.amount }; } });

      if (input.warehouseDelay !== undefined) {
        ctx.setStatus({ state: 'waiting-for-warehouse' });
        await ctx.sleep('await-pickup', input.warehouseDelay);
      }

      const shipment = await ctx.step('ship', async ({ signal }) => {
        await work(250, signal);
        return { trackingNumber: `trk-${input.orderId}` };
      });
      ctx.setStatus({ state: 'shipped' });
      return { orderId: input.orderId, reservationId: reservation.reservationId, chargeId: charge.chargeId, trackingNumber: shipment.trackingNumber };
    } catch (err) {
      // Compensate in reverse; these steps run even after a cancellation was delivered.
      ctx.setStatus({ state: 'compensating', reason: (err as Error).name });
      for (const c of compensations.reverse()) await ctx.step(c.name, ({ signal }) => c.run(signal));
      throw err;
    }
  });
