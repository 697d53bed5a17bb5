/**
 * Small shared helpers of the workflow commands: name validation and event construction. Pure.
 */
import { ValidationError } from '../errors';
import { MAX_NAME_LENGTH } from '../store/entities';
import type { NewEvent } from '../store/types';

/** A step/timer/signal name: a non-empty string of at most MAX_NAME_LENGTH characters. */
export function checkName(name: unknown, what: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new ValidationError(`${what} name must be a non-empty string`, 'name');
  if ([...name].length > MAX_NAME_LENGTH) throw new ValidationError(`${what} name is longer than ${MAX_NAME_LENGTH} characters`, 'name');
  return name;
}

/** A history event of a command. */
export function eventAt(seq: number, kind: NewEvent['kind'], name: string, status: string, payload: string | null, attempt: number): NewEvent {
  return { seq, kind, name, status, payload, attempt };
}
