/**
 * Small shared helpers of the workflow commands: name validation and event construction. Pure.
 */
import { toMs, type Duration } from '../duration';
import { validateDelayMs, validateName } from '../validation';
import type { NewEvent } from '../store/types';

/** A step/timer/signal name the store keeps exactly (the shared rules of engine/validation.ts). */
export function checkName(name: unknown, what: string): string {
  return validateName(name, what);
}

/** A duration that must also fit the store's datetime range once added to now. */
export function checkDelayMs(d: Duration, field: string): number {
  return validateDelayMs(toMs(d, field), field);
}

/** A history event of a command. */
export function eventAt(seq: number, kind: NewEvent['kind'], name: string, status: string, payload: string | null, attempt: number): NewEvent {
  return { seq, kind, name, status, payload, attempt };
}
