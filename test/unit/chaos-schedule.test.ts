/**
 * The chaos checker's schedule invariant on synthetic rows: it passes when every fire from the
 * first to the last has its one execution, and catches a missing fire, a stray execution, counts
 * that disagree with the rows and skipped or missed fires.
 */
import { checkSchedule, scheduleSubmissions } from '../../bench/chaos/schedule';
import type { ExecRow, ScheduleFact } from '../../bench/chaos/check-types';

const FIRST = Date.UTC(2026, 10, 30, 12, 0, 0);

function exec(fireMs: number): ExecRow {
  return {
    id: `chaos-tick:${new Date(fireMs).toISOString()}`, workflow: 'chaos-steps', status: 'completed', input: { work: [20, 20] }, output: null, error: null,
    leaseToken: 1, attempt: 1, parentId: null, templateKey: null, createdAtMs: fireMs, finishedAtMs: fireMs + 50, waitFor: null, runnerId: null,
  };
}
const fact = (o: Partial<ScheduleFact> = {}): ScheduleFact => ({ id: 'chaos-tick', firstFireMs: FIRST, lastFireMs: FIRST + 4000, fired: 5, skipped: 0, missed: 0, ...o });
const fires = (n: number) => Array.from({ length: n }, (_, i) => exec(FIRST + i * 1000));

describe('chaos check: schedule', () => {
  it('passes when every fire from the first to the last started one execution', () => {
    const r = checkSchedule(fact(), [...fires(5), { ...exec(FIRST), id: 'other-1' }]);
    expect(r).toMatchObject({ ok: true, counts: { fires: 5, executions: 5 } });
    expect(scheduleSubmissions(fact(), fires(5)).map((s) => s.starts)).toEqual([1, 1, 1, 1, 1]);
  });

  it('catches a fire that started nothing, a stray execution, wrong counts and skipped or missed fires', () => {
    const gap = fires(5).filter((_, i) => i !== 2);
    expect(checkSchedule(fact(), gap).violations).toEqual(expect.arrayContaining([expect.stringMatching(/12:00:02.000Z started no execution/)]));
    expect(checkSchedule(fact(), [...fires(5), exec(FIRST + 9000)]).violations).toEqual([expect.stringMatching(/is not a fire between the first and the last/)]);
    expect(checkSchedule(fact({ fired: 6 }), fires(5)).violations).toEqual([expect.stringMatching(/counts 6 fires, the rows show 5/)]);
    expect(checkSchedule(fact({ missed: 1 }), fires(5)).ok).toBe(false);
    expect(checkSchedule(fact({ lastFireMs: null, fired: 0 }), []).violations).toEqual(['the schedule never fired']);
  });
});
