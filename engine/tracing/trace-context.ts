/**
 * The caller's trace context, carried with an execution. `captureTraceContext` injects the active
 * context through the globally registered propagator (W3C traceparent/tracestate when one is
 * registered; nothing otherwise) and returns it as JSON text for the execution row;
 * `restoreTraceContext` extracts it again in the runner. Only `@opentelemetry/api` is used.
 */
import { context, propagation, ROOT_CONTEXT, type Context } from '@opentelemetry/api';

/** Longest stored trace context (the column is VARCHAR(600)); a longer one is dropped, never cut. */
export const MAX_TRACE_CONTEXT_LENGTH = 600;

/** The active context as stored text, or null when no propagator wrote anything. */
export function captureTraceContext(from: Context = context.active()): string | null {
  const carrier: Record<string, string> = {};
  propagation.inject(from, carrier);
  if (Object.keys(carrier).length === 0) return null;
  const text = JSON.stringify(carrier);
  return text.length > MAX_TRACE_CONTEXT_LENGTH ? null : text;
}

/** A context holding the stored remote parent (ROOT_CONTEXT when none or unreadable). */
export function restoreTraceContext(text: string | null): Context {
  if (!text) return ROOT_CONTEXT;
  try {
    const carrier = JSON.parse(text) as unknown;
    if (!carrier || typeof carrier !== 'object') return ROOT_CONTEXT;
    return propagation.extract(ROOT_CONTEXT, carrier as Record<string, string>);
  } catch {
    return ROOT_CONTEXT;
  }
}
