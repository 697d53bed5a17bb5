/**
 * Options of `handle.resume()` (fork / resume from a step, issue 12), validated. Pure.
 */
import { ValidationError } from '../errors';
import { checkStorableText } from '../validation';
import { MAX_BUILD_ID_LENGTH } from '../workflow/define-workflow';
import { MAX_NAME_LENGTH } from '../store/entities';

/** Options of `handle.resume()`. */
export interface ResumeOptions {
  /** Re-run from this step: a step name (its last occurrence) or a history position. @default the failed step */
  fromStep?: string | number;
  /** Route the execution to runners serving this build id. @default its last build */
  build?: string;
}

/** Validated resume options. */
export function checkResumeOptions(o: ResumeOptions): { fromStep: string | number | undefined; build: string | null } {
  if (!o || typeof o !== 'object') throw new ValidationError('resume options must be an object', 'options');
  let fromStep: string | number | undefined;
  if (typeof o.fromStep === 'number') {
    if (!Number.isInteger(o.fromStep) || o.fromStep < 0) throw new ValidationError('fromStep must be a step name or a history position (an integer ≥ 0)', 'fromStep');
    fromStep = o.fromStep;
  } else if (o.fromStep !== undefined) {
    fromStep = checkStorableText(o.fromStep, 'fromStep', 'fromStep', MAX_NAME_LENGTH);
  }
  const build = o.build === undefined ? null : checkStorableText(o.build, 'build', 'build', MAX_BUILD_ID_LENGTH);
  return { fromStep, build };
}
