/**
 * O(1) template admission (issue 13, item 3), on SQLite and MariaDB/MySQL: members are admitted
 * or parked at start (a claim never picks a parked member), a freed slot is handed to the head
 * waiter in the freeing transaction, the watchdog's sweep repairs a lost hand-off, and the
 * statements a start, a hand-off and a claim send do not grow with the number of waiting rows.
 */
import { describeEachDb } from '../helpers/db';
import { createClient, defineWorkflow, type Client } from '../../engine';
import { claimExecutions } from '../../engine/store/claims';
import { sweepAdmissions } from '../../engine/store/admission';
import { observeStore } from '../../engine/store/observer';

describeEachDb(__filename, 'template admission', (ctx) => {
  /** One workflow per test, so a claim only sees that test's members. */
  const serialNamed = (name: string) => defineWorkflow({ name, template: { key: (input: { key: string }) => input.key, limit: 1 } }, async () => 1);
  let serial = serialNamed('adm-serial');
  let tests = 0;
  beforeEach(() => { serial = serialNamed(`adm-serial-${++tests}`); });
  const pair = defineWorkflow({ name: 'adm-pair', template: { key: () => 'adm-pair', limit: 2 } }, async () => 1);

  type Row = { id: string; admitted: unknown; available_at: unknown; wait_for: string | null; attempt: unknown; status: string };
  const rows = async (prefix: string) => (await ctx.db.sql.all<Row>(
    'SELECT id, admitted, available_at, wait_for, attempt, status FROM workflow_executions WHERE id LIKE ? ORDER BY template_seq', [`${prefix}%`],
  )).map((r) => ({ id: r.id, admitted: Number(r.admitted), parked: r.available_at === null, waitFor: r.wait_for, attempt: Number(r.attempt), status: r.status }));

  async function startMembers(client: Client, prefix: string, key: string, n: number): Promise<string[]> {
    const ids = Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);
    for (const id of ids) await client.start(serial, { key }, { id });
    return ids;
  }

  const claim = (workflow: string, limit = 50) => claimExecutions(ctx.db.sql, { owner: 'adm-claimer-00000000', workflows: [workflow], limit, leaseTtlMs: 30_000 });

  test('the first member is admitted at start, the rest are parked; a claim takes only the admitted one and touches no waiter', async () => {
    const client = await createClient({ db: ctx.db });
    const ids = await startMembers(client, 'p1-', 'k-p1', 4);
    expect(await rows('p1-')).toEqual([
      { id: ids[0], admitted: 1, parked: false, waitFor: null, attempt: 0, status: 'queued' },
      ...ids.slice(1).map((id) => ({ id, admitted: 0, parked: true, waitFor: '{"kind":"admission"}', attempt: 0, status: 'queued' })),
    ]);
    expect((await claim(serial.name)).map((e) => e.id)).toEqual([ids[0]]);
    expect((await rows('p1-')).map((r) => r.attempt)).toEqual([1, 0, 0, 0]);
    // Limit 2: two admitted at start.
    for (let i = 0; i < 3; i++) await client.start(pair, null, { id: `p2-${i}` });
    expect((await rows('p2-')).map((r) => r.admitted)).toEqual([1, 1, 0]);
    await client.close();
  });

  test('a freed slot goes to the head waiter in the same transaction (terminate, cancel of an unstarted holder)', async () => {
    const client = await createClient({ db: ctx.db });
    const ids = await startMembers(client, 'h1-', 'k-h1', 3);
    await claim(serial.name);
    await client.getHandle(ids[0]).terminate();
    expect((await rows('h1-')).map((r) => [r.admitted, r.parked, r.status])).toEqual([[1, true, 'cancelled'], [1, false, 'queued'], [0, true, 'queued']]);
    // ids[1] is admitted but never started: cancelling it hands the slot on at once.
    await client.getHandle(ids[1]).cancel();
    expect((await rows('h1-')).map((r) => [r.admitted, r.parked, r.status])).toEqual([[1, true, 'cancelled'], [1, true, 'cancelled'], [1, false, 'queued']]);
    await client.close();
  });

  test('a delayed member meets admission at its claim: parked while the key is full, then first in line by its sequence', async () => {
    const client = await createClient({ db: ctx.db });
    await client.start(serial, { key: 'k-d1' }, { id: 'd1-a' });
    expect((await claim(serial.name)).map((e) => e.id)).toEqual(['d1-a']);
    await client.start(serial, { key: 'k-d1' }, { id: 'd1-b', delay: '30ms' });   // neither admitted nor parked yet
    await client.start(serial, { key: 'k-d1' }, { id: 'd1-c' });                   // the key is full: parked
    expect((await rows('d1-')).map((r) => [r.id, r.admitted, r.parked])).toEqual([['d1-a', 1, false], ['d1-b', 0, false], ['d1-c', 0, true]]);
    await new Promise((r) => setTimeout(r, 60));
    expect(await claim(serial.name)).toEqual([]);                                  // d1-b was due, met a full key, is parked now
    expect((await rows('d1-')).map((r) => [r.id, r.admitted, r.parked, r.waitFor])).toEqual([
      ['d1-a', 1, false, null], ['d1-b', 0, true, '{"kind":"admission"}'], ['d1-c', 0, true, '{"kind":"admission"}']]);
    await client.getHandle('d1-a').terminate();
    expect((await rows('d1-')).map((r) => [r.id, r.admitted, r.parked])).toEqual([['d1-a', 1, true], ['d1-b', 1, false], ['d1-c', 0, true]]);
    expect((await claim(serial.name)).map((e) => e.id)).toEqual(['d1-b']);
    await client.close();
  });

  test('the sweep repairs a lost hand-off (a holder finished by hand) and grants nothing beyond the limit', async () => {
    const client = await createClient({ db: ctx.db });
    const ids = await startMembers(client, 'w1-', 'k-w1', 3);
    await ctx.db.sql.run("UPDATE workflow_executions SET status = 'completed' WHERE id = ?", [ids[0]]);
    expect((await rows('w1-')).map((r) => r.admitted)).toEqual([1, 0, 0]);
    let granted = 0;
    // The sweep pages through keys: a few passes reach every key.
    for (let i = 0; i < 5; i++) granted += await sweepAdmissions(ctx.db.sql);
    expect(granted).toBe(1);
    expect((await rows('w1-')).map((r) => [r.admitted, r.parked])).toEqual([[1, false], [1, false], [0, true]]);
    await client.close();
  });

  test('statements per start, hand-off and claim are the same with 1 and with 200 waiters of the key', async () => {
    const client = await createClient({ db: ctx.db });
    const cost = async (key: string, waiters: number) => {
      serial = serialNamed(`adm-cost-${key}`);
      const ids = await startMembers(client, `${key}-`, key, waiters + 1);
      await claim(serial.name, 1);
      let n = 0;
      const stop = observeStore(() => { n++; });
      const counts: number[] = [];
      try {
        await client.start(serial, { key }, { id: `${key}-late` });
        counts.push(n);
        await client.getHandle(ids[0]).terminate();
        counts.push(n);
        expect((await claim(serial.name, 1)).map((e) => e.id)).toEqual([ids[1]]);
        counts.push(n);
      } finally {
        stop();
      }
      return counts.map((c, i) => c - (i === 0 ? 0 : counts[i - 1]));
    };
    const small = await cost('c-small', 1);
    const big = await cost('c-big', 200);
    expect(big).toEqual(small);
    await client.close();
  });
});
