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

describe('LazyAbortController.abortWith', () => {
  test('builds the reason only when it is read, once', () => {
    const c = new LazyAbortController();
    let built = 0;
    c.abortWith(() => { built++; return new Error('run ended'); });
    c.abort(new Error('ignored')); // the first abort wins
    expect(c.aborted).toBe(true);
    expect(built).toBe(0);
    expect(c.signal.aborted).toBe(true);
    expect((c.signal.reason as Error).message).toBe('run ended');
    expect((c.reason as Error).message).toBe('run ended');
    expect(built).toBe(1);
  });

  test('with a signal already read, listeners fire at once with the built reason', () => {
    const c = new LazyAbortController();
    const seen: unknown[] = [];
    c.signal.addEventListener('abort', () => seen.push((c.signal.reason as Error).message));
    c.abortWith(() => new Error('lease lost'));
    expect(seen).toEqual(['lease lost']);
  });
});
