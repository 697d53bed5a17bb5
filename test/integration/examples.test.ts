/**
 * The example workflows in workflows/, driven in-process on both dialects: the order saga
 * (happy path, declined card, cancellation during a durable wait), the long reminder timer,
 * fan-out/fan-in over child workflows, and approval by signal or by timeout.
 */
import { describeEachDb } from '../helpers/db';
import { drive, makeDue } from '../helpers/engine';
import { createClient, type Client } from '../../engine';
import { order } from '../../workflows/order';
import { reminder } from '../../workflows/reminder';
import { fanOut, fanOutItem } from '../../workflows/fan-out';
import { approval } from '../../workflows/approval';

const all = [order, reminder, fanOut, fanOutItem, approval];

describeEachDb(__filename, 'example workflows', (ctx) => {
  let client: Client;
  beforeAll(async () => { client = await createClient({ db: ctx.db }); });
  afterAll(async () => client.close());

  const steps = async (id: string) => (await client.getHandle(id).history()).filter((e) => e.kind === 'step').map((e) => `${e.name}:${e.status}`);

  test('an order reserves, charges and ships', async () => {
    const h = await client.start(order, { orderId: 'o-1', customerId: 'c-1', amount: 4200, items: 2 }, { id: 'order-happy' });
    await drive(ctx.db, all);
    expect(await h.result()).toEqual({ orderId: 'o-1', reservationId: 'res-o-1', chargeId: 'ch-o-1', trackingNumber: 'trk-o-1' });
    expect(await steps('order-happy')).toEqual(['reserve-inventory:completed', 'charge:completed', 'ship:completed']);
    expect((await h.describe()).customStatus).toEqual({ state: 'shipped' });
  });

  test('a transient gateway error is retried and the charge is recorded once', async () => {
    const h = await client.start(order, { orderId: 'o-2', customerId: 'c-2', amount: 100, items: 1, card: 'flaky' }, { id: 'order-flaky' });
    await drive(ctx.db, all);
    expect(await h.result()).toMatchObject({ chargeId: 'ch-o-2' });
    const charge = (await h.history()).find((e) => e.name === 'charge');
    expect(charge).toMatchObject({ status: 'completed', attempt: 2 });
  });

  test('a declined card is not retried and releases the reservation before failing', async () => {
    const h = await client.start(order, { orderId: 'o-3', customerId: 'c-3', amount: 100, items: 1, card: 'declined' }, { id: 'order-declined' });
    await drive(ctx.db, all);
    await expect(h.result()).rejects.toMatchObject({ code: 'WORKFLOW_FAILED', cause: expect.objectContaining({ name: 'CardDeclined', message: 'card of customer c-3 was declined' }) });
    expect(await steps('order-declined')).toEqual(['reserve-inventory:completed', 'charge:failed', 'release-inventory:completed']);
    expect((await h.history()).find((e) => e.name === 'charge')?.attempt).toBe(1);
    expect((await h.describe()).status).toBe('failed');
  });

  test('cancelling an order during its durable wait refunds, then releases, then ends cancelled', async () => {
    const h = await client.start(order, { orderId: 'o-4', customerId: 'c-4', amount: 900, items: 3, warehouseDelay: '1h' }, { id: 'order-cancel' });
    await drive(ctx.db, all);
    const waiting = await h.describe();
    expect(waiting).toMatchObject({ status: 'waiting', customStatus: { state: 'waiting-for-warehouse' } });
    await h.cancel('customer changed their mind');
    await drive(ctx.db, all);
    await expect(h.result()).rejects.toMatchObject({ name: 'CancelledError' });
    expect(await steps('order-cancel')).toEqual(['reserve-inventory:completed', 'charge:completed', 'refund:completed', 'release-inventory:completed']);
    expect((await h.describe()).status).toBe('cancelled');
  });

  test('a reminder sleeps durably, then sends once', async () => {
    const h = await client.start(reminder, { to: 'ada@example.com', message: 'standup', delay: '2h' }, { id: 'reminder-1' });
    await drive(ctx.db, all);
    expect(await h.describe()).toMatchObject({ status: 'waiting', waitingFor: { kind: 'timer', name: 'wait' }, customStatus: { state: 'scheduled', delay: '2h' } });
    await makeDue(ctx.db, 'reminder-1');
    await drive(ctx.db, all);
    const out = await h.result();
    expect(out).toMatchObject({ to: 'ada@example.com', messageId: 'msg-reminder-1:2:send' });
    expect(Number.isNaN(Date.parse(out.scheduledAt))).toBe(false);
  });

  test('a fan-out starts its children and aggregates their results in order', async () => {
    const h = await client.start(fanOut, { count: 5, base: 2 }, { id: 'fan-1' });
    await drive(ctx.db, all);
    expect(await h.result()).toEqual({ count: 5, results: [4, 9, 16, 25, 36], sum: 90 });
    const children = await client.list({ parentId: 'fan-1', limit: 10 });
    expect(children.executions.map((c) => c.status)).toEqual(Array(5).fill('completed'));
    expect(children.executions.map((c) => c.id).sort()).toEqual(['fan-1/0', 'fan-1/1', 'fan-1/2', 'fan-1/3', 'fan-1/4']);
  });

  test('an approval publishes its state while waiting and completes when approved by signal', async () => {
    const h = await client.start(approval, { requestId: 'r-1', amount: 5000, timeout: '1h' }, { id: 'approval-yes' });
    await drive(ctx.db, all);
    expect(await h.describe()).toMatchObject({ status: 'waiting', customStatus: { state: 'waiting-for-approval', timeout: '1h' } });
    await h.signal('approve', { approved: true, by: 'grace' });
    await drive(ctx.db, all);
    expect(await h.result()).toEqual({ requestId: 'r-1', outcome: 'approved', by: 'grace' });
    expect((await h.describe()).customStatus).toEqual({ state: 'approved', by: 'grace' });
  });

  test('an approval that gets no signal before its timeout ends timed-out', async () => {
    const h = await client.start(approval, { requestId: 'r-2', amount: 10, timeout: '3h' }, { id: 'approval-timeout' });
    await drive(ctx.db, all);
    expect((await h.describe()).status).toBe('waiting');
    await makeDue(ctx.db, 'approval-timeout');
    await drive(ctx.db, all);
    expect(await h.result()).toEqual({ requestId: 'r-2', outcome: 'timed-out' });
    expect((await h.describe()).customStatus).toEqual({ state: 'timed-out' });
  });
});
