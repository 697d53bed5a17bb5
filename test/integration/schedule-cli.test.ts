/**
 * `leaseflow schedule …` through the CLI's entry function (in-process; the process-level CLI
 * contract is covered by test/process/cli.test.ts): every action, and mistakes as one line with
 * exit code 2.
 */
import { runCli } from '../../runner/cli';
import type { Io } from '../../runner/commands/command';
import { describeEachDb } from '../helpers/db';
import { scheduleExecutions } from '../helpers/schedules';

describeEachDb(__filename, 'schedule command', (ctx) => {
  async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const io: Io = { out: (t) => { out += t; }, err: (t) => { err += t; }, env: {}, isTTY: false, readStdin: async () => '' };
    const code = await runCli(['--db', ctx.url, ...argv], io);
    return { code, out, err };
  }

  test('create, list, describe, trigger, backfill, pause, unpause, update and delete', async () => {
    expect(await cli('schedule', 'create', 'nightly', '--workflow', 'report', '--cron', '30 2 * * *', '--timezone', 'Europe/Berlin', '--input', '{"full":true}'))
      .toMatchObject({ code: 0, out: expect.stringMatching(/^created nightly; next fire \d{4}-/) });
    expect((await cli('schedule', 'list')).out).toMatch(/nightly\s+report\s+cron "30 2 \* \* \*" \(Europe\/Berlin\)\s+skip/);
    const described = JSON.parse((await cli('schedule', 'describe', 'nightly', '--json')).out) as { input: unknown; nextFireTimes: string[] };
    expect(described.input).toEqual({ full: true });
    expect(described.nextFireTimes).toHaveLength(5);
    const trig = await cli('schedule', 'trigger', 'nightly');
    expect(trig.out).toMatch(/^nightly:\d{4}-\d\d-\d\dT[\d:.]+Z\nstarted 1, already fired 0, buffered 0, skipped 0\n$/);
    const bf = await cli('schedule', 'backfill', 'nightly', '--from', '2026-01-01T00:00:00Z', '--to', '2026-01-03T00:00:00Z', '--overlap', 'allow_all');
    expect(bf.out).toBe('nightly:2026-01-01T01:30:00.000Z\nnightly:2026-01-02T01:30:00.000Z\nstarted 2, already fired 0, buffered 0, skipped 0\n');
    expect((await scheduleExecutions(ctx.db, 'nightly'))).toHaveLength(3);
    expect((await cli('schedule', 'pause', 'nightly')).out).toBe('paused nightly\n');
    expect((await cli('schedule', 'list')).out).toMatch(/nightly.*paused/);
    expect((await cli('schedule', 'unpause', 'nightly')).out).toBe('unpaused nightly\n');
    const upd = await cli('schedule', 'update', 'nightly', '--every', '1h', '--overlap', 'buffer_all');
    expect(upd.out).toMatch(/rule\s+every 1h00m/);
    expect(upd.out).toMatch(/overlap\s+buffer_all/);
    expect((await cli('schedule', 'describe', 'nightly')).out).toMatch(/fired \/ skipped \/ missed\s+3 \/ 0 \/ 0/);
    expect((await cli('schedule', 'delete', 'nightly')).out).toBe('deleted nightly\n');
    expect((await cli('schedule', 'list')).out).toBe('no schedules\n');
  });

  test('mistakes are one line on stderr: usage errors exit 2, an unknown schedule 3, a taken id 4', async () => {
    const bad = [
      [['schedule'], /needs an action/],
      [['schedule', 'fly', 'x'], /needs an action/],
      [['schedule', 'describe'], /needs <id>/],
      [['schedule', 'create', 'x', '--workflow', 'w', '--cron', '61 * * * *'], /not a valid cron expression/],
      [['schedule', 'create', 'x', '--workflow', 'w', '--every', '1s', '--overlap', 'queue'], /--overlap must be one of/],
      [['schedule', 'create', 'x', '--workflow', 'w', '--cron', '* * * * *', '--timezone', 'Nowhere/Land'], /not a known IANA time zone/],
      [['schedule', 'backfill', 'x', '--from', 'yesterday', '--to', '2026-01-01T00:00:00Z'], /--from must be an ISO date-time/],
    ] as const;
    for (const [argv, pattern] of bad) {
      const r = await cli(...argv);
      expect({ argv, code: r.code, out: r.out }).toEqual({ argv, code: 2, out: '' });
      expect(r.err).toMatch(pattern);
      expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    }
    const missing = await cli('schedule', 'trigger', 'nope');
    expect(missing).toMatchObject({ code: 3, out: '', err: 'leaseflow: schedule "nope" not found\n' });
    await cli('schedule', 'create', 'twice', '--workflow', 'w', '--every', '1h');
    expect(await cli('schedule', 'create', 'twice', '--workflow', 'w', '--every', '1h')).toMatchObject({ code: 4, err: expect.stringMatching(/already exists/) });
  });
});
