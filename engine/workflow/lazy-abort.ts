/**
 * An AbortController that exists only once someone looks at its signal. Every command and
 * step attempt of a run has one (issue 16): a real AbortController plus its EventTarget costs
 * more CPU than the rest of a step's bookkeeping, and almost no step body ever reads its
 * signal. Aborting before the signal was read just records the reason; reading the signal
 * later gives one that is already aborted with that reason, exactly as if it had been eager.
 */
export class LazyAbortController {
  #ac: AbortController | null = null;
  #aborted = false;
  #reason: unknown;
  /** Builds the reason on first need (an Error's stack trace is costly; most are never read). */
  #makeReason: (() => unknown) | null = null;

  /** The signal (created on first read, already aborted if abort() came first). */
  get signal(): AbortSignal {
    if (!this.#ac) {
      const reason = this.#aborted ? this.reason : undefined;
      this.#ac = new AbortController();
      if (this.#aborted) this.#ac.abort(reason);
    }
    return this.#ac.signal;
  }

  /** Whether abort() was called (never creates the signal). */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** The reason the signal has, or will have once read (never creates the signal). */
  get reason(): unknown {
    if (this.#ac) return this.#ac.signal.reason;
    if (this.#makeReason) { this.#reason = this.#makeReason(); this.#makeReason = null; }
    return this.#reason;
  }

  /** abort() with a reason built only if someone reads it (or the signal already exists). */
  abortWith(makeReason: () => unknown): void {
    if (this.#aborted) return;
    if (this.#ac) { this.abort(makeReason()); return; }
    this.#aborted = true;
    this.#makeReason = makeReason;
  }

  /** Abort once; later calls are ignored, as AbortController's are. */
  abort(reason?: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    if (this.#ac) this.#ac.abort(reason);
    else this.#reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
  }
}
