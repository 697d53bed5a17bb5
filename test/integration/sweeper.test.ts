/**
 * The sweeper role (issue 15, item 3) on both dialects: one grant holder at a time; a scan pass is
 * one transaction fenced by the grant, so a sweeper whose grant lapsed and was taken over writes
 * nothing (its pass is not even started) and learns it is no longer elected; resigning frees the
 * role at once.
 */
import { describeEachDb } from '../helpers/db';
import { Sweeper } from '../../engine/runner/sweeper';
import { silentLogger } from '../../engine/logger';

describeEachDb(__filename, 'sweeper', (ctx) => {
  const changes: string[] = [];
  const make = (owner: string) => new Sweeper(ctx.db, owner, 60_000, silentLogger(), (e) => changes.push(`${e.runnerId}:${e.elected ? 'elected' : 'lost'}`));
  const lapse = () => ctx.db.sql.run(
    `UPDATE distributed_locks SET expires_at = ${ctx.db.sql.mysql ? 'UTC_TIMESTAMP(6) - INTERVAL 1 SECOND' : `${ctx.db.sql.now} - 1000`} WHERE lock_key = 'leaseflow:sweeper'`);

  test('one holder at a time; a stale sweeper\'s pass writes nothing once the grant moved on', async () => {
    await ctx.db.sql.run("CREATE TABLE IF NOT EXISTS sweep_marks (id VARCHAR(40) PRIMARY KEY)");
    const a = make('sweeper-a');
    const b = make('sweeper-b');
    expect(await a.campaign(false, false)).toBe(true);
    expect(await b.campaign(true, true)).toBe(false);
    expect(await a.sweep(async (tx) => { await tx.run("INSERT INTO sweep_marks (id) VALUES ('a-1')"); })).toBe(true);

    await lapse(); // a is paused past its TTL …
    expect(await b.campaign(true, false)).toBe(true); // … and b takes over
    let ran = false;
    expect(await a.sweep(async (tx) => { ran = true; await tx.run("INSERT INTO sweep_marks (id) VALUES ('a-2')"); })).toBe(false);
    expect(ran).toBe(false);
    expect(a.elected).toBe(false);
    expect(await b.sweep(async (tx) => { await tx.run("INSERT INTO sweep_marks (id) VALUES ('b-1')"); })).toBe(true);
    expect((await ctx.db.sql.all<{ id: string }>('SELECT id FROM sweep_marks ORDER BY id')).map((r) => r.id)).toEqual(['a-1', 'b-1']);

    // A failing pass rolls back whole and keeps the role.
    await expect(b.sweep(async (tx) => { await tx.run("INSERT INTO sweep_marks (id) VALUES ('b-2')"); throw new Error('boom'); })).rejects.toThrow('boom');
    expect(b.elected).toBe(true);
    expect((await ctx.db.sql.all('SELECT id FROM sweep_marks')).length).toBe(2);

    await b.resign();
    expect(await a.campaign(true, false)).toBe(true);
    expect(changes).toEqual(['sweeper-a:elected', 'sweeper-b:elected', 'sweeper-a:lost', 'sweeper-b:lost', 'sweeper-a:elected']);
    await a.resign();
  });
});
