/**
 * LazyAbortController (issue 16): commands and step attempts no longer create an
 * AbortController unless their signal is read; it must behave like an eager one.
 */
import { LazyAbortController } from '../../engine/workflow/lazy-abort';

describe('LazyAbortController', () => {
  test('a signal read before abort() fires its listeners with the reason', () => {
    const c = new LazyAbortController();
    const seen: unknown[] = [];
    c.signal.addEventListener('abort', () => seen.push(c.signal.reason));
    expect(c.aborted).toBe(false);
    c.abort('why');
    c.abort('later'); // ignored, as AbortController's second abort is
    expect(seen).toEqual(['why']);
    expect(c.signal.aborted).toBe(true);
    expect(c.reason).toBe('why');
  });

  test('a signal read only after abort() is already aborted with the first reason', () => {
    const c = new LazyAbortController();
    const err = new Error('run ended');
    c.abort(err);
    c.abort(new Error('second'));
    expect(c.aborted).toBe(true);
    expect(c.reason).toBe(err);
    expect(c.signal.aborted).toBe(true);
    expect(c.signal.reason).toBe(err);
  });

  test('abort() without a reason gives an AbortError, read early or late', () => {
    const late = new LazyAbortController();
    late.abort();
    expect((late.signal.reason as DOMException).name).toBe('AbortError');
    const early = new LazyAbortController();
    const s = early.signal;
    early.abort();
    expect((s.reason as DOMException).name).toBe('AbortError');
  });

  test('the same signal object on every read', () => {
    const c = new LazyAbortController();
    expect(c.signal).toBe(c.signal);
  });
});
