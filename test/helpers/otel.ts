/**
 * A tracer provider, a context manager and a W3C traceparent propagator written against
 * `@opentelemetry/api` alone (no SDK), for tests: every span is recorded with its parent,
 * attributes, status and whether it ended.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import {
  ROOT_CONTEXT, trace, type Attributes, type AttributeValue, type Context, type ContextManager, type Span, type SpanContext,
  type SpanOptions, type SpanStatus, type TextMapGetter, type TextMapPropagator, type TextMapSetter, type Tracer, type TracerProvider,
} from '@opentelemetry/api';

/** A recorded span. */
export class RecordedSpan implements Span {
  attributes: Attributes = {};
  status: SpanStatus = { code: 0 };
  ended = false;
  constructor(readonly name: string, readonly context: SpanContext, readonly parentSpanId: string | undefined, attrs: Attributes = {}) {
    Object.assign(this.attributes, attrs);
  }
  spanContext(): SpanContext { return this.context; }
  setAttribute(key: string, value: AttributeValue): this { this.attributes[key] = value; return this; }
  setAttributes(attrs: Attributes): this { Object.assign(this.attributes, attrs); return this; }
  addEvent(): this { return this; }
  addLink(): this { return this; }
  addLinks(): this { return this; }
  setStatus(status: SpanStatus): this { this.status = status; return this; }
  updateName(): this { return this; }
  end(): void { this.ended = true; }
  isRecording(): boolean { return !this.ended; }
  recordException(): void { /* not needed */ }
}

/** Records every span started through it. */
export class RecordingProvider implements TracerProvider {
  readonly spans: RecordedSpan[] = [];
  getTracer(): Tracer {
    const spans = this.spans;
    const start = (name: string, options: SpanOptions = {}, ctx: Context = ROOT_CONTEXT): RecordedSpan => {
      const parent = trace.getSpanContext(ctx);
      const span = new RecordedSpan(name, {
        traceId: parent?.traceId ?? randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex'), traceFlags: 1,
      }, parent?.spanId, options.attributes);
      spans.push(span);
      return span;
    };
    return {
      startSpan: start,
      startActiveSpan: ((name: string, ...args: unknown[]) => {
        const fn = args.pop() as (s: Span) => unknown;
        return fn(start(name, args[0] as SpanOptions | undefined, args[1] as Context | undefined));
      }) as Tracer['startActiveSpan'],
    };
  }
}

/** An AsyncLocalStorage context manager (what the SDK's async-hooks manager does). */
export class AlsContextManager implements ContextManager {
  #als = new AsyncLocalStorage<Context>();
  active(): Context { return this.#als.getStore() ?? ROOT_CONTEXT; }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.#als.run(ctx, () => fn.apply(thisArg, args));
  }
  bind<T>(_ctx: Context, target: T): T { return target; }
  enable(): this { return this; }
  disable(): this { this.#als.disable(); return this; }
}

/** W3C `traceparent` only. */
export class TraceparentPropagator implements TextMapPropagator {
  inject(ctx: Context, carrier: unknown, setter: TextMapSetter): void {
    const sc = trace.getSpanContext(ctx);
    if (sc) setter.set(carrier, 'traceparent', `00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags}`);
  }
  extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    const raw = getter.get(carrier, 'traceparent');
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(Array.isArray(raw) ? raw[0] : raw ?? '');
    return m ? trace.setSpanContext(ctx, { traceId: m[1], spanId: m[2], traceFlags: parseInt(m[3], 16), isRemote: true }) : ctx;
  }
  fields(): string[] { return ['traceparent']; }
}
