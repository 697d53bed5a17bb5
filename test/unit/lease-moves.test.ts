/**
 * LeaseMoveTracker: a lease seen under one owner and later under another with a higher token is
 * a move; one whose new lease lived shorter than a tick is still found from the execution row;
 * finishing, suspending or re-claiming by the same owner is not a move.
 */
import { LeaseMoveTracker } from '../../engine/inspect/lease-moves';

const at = (s: number) => new Date(1_000_000 + s * 1000);
const lease = (executionId: string, owner: string, token: number) => ({ executionId, owner, token });

describe('LeaseMoveTracker', () => {
  test('a lease seen again under another owner with a higher token is a move', () => {
    const t = new LeaseMoveTracker();
    expect(t.observe([lease('e1', 'a', 5)], [], at(0))).toEqual([]);
    expect(t.observe([lease('e1', 'b', 6)], [], at(1))).toEqual([{ executionId: 'e1', from: 'a', to: 'b', fromToken: 5, toToken: 6, at: at(1) }]);
    expect(t.observe([lease('e1', 'b', 6)], [], at(2))).toEqual([]);
  });

  test('a takeover whose new lease was never seen live is found from the execution row', () => {
    const t = new LeaseMoveTracker();
    t.observe([lease('e1', 'a', 5)], [], at(0));
    expect(t.observe([], [], at(1))).toEqual([]);
    expect(t.pending).toEqual(['e1']);
    expect(t.observe([], [{ executionId: 'e1', status: 'running', runnerId: 'a', leaseToken: 5 }], at(2))).toEqual([]); // dead holder, not yet released
    expect(t.observe([], [{ executionId: 'e1', status: 'completed', runnerId: 'b', leaseToken: 6 }], at(3)))
      .toEqual([{ executionId: 'e1', from: 'a', to: 'b', fromToken: 5, toToken: 6, at: at(3) }]);
    expect(t.pending).toEqual([]);
  });

  test('finishing, suspending or resuming on the same owner is no move', () => {
    const t = new LeaseMoveTracker();
    t.observe([lease('e1', 'a', 5), lease('e2', 'a', 7), lease('e3', 'a', 9)], [], at(0));
    t.observe([], [], at(1));
    expect(t.observe([], [
      { executionId: 'e1', status: 'completed', runnerId: 'a', leaseToken: 5 },
      { executionId: 'e2', status: 'waiting', runnerId: 'a', leaseToken: 7 },
      { executionId: 'e3', status: 'running', runnerId: 'a', leaseToken: 10 },
    ], at(2))).toEqual([]);
    expect(t.pending).toEqual([]);
  });

  test('forgets what it has not seen for its memory span', () => {
    const t = new LeaseMoveTracker(5000);
    t.observe([lease('e1', 'a', 5)], [], at(0));
    t.observe([], [], at(1));
    t.observe([], [], at(10));
    expect(t.pending).toEqual([]);
    expect(t.observe([lease('e1', 'b', 6)], [], at(11))).toEqual([]);
  });
});
