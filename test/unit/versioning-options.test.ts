/**
 * Pure parts of issue 12: build routing options (defaults, validation) and the deploy gate's
 * patch advice.
 */
import { resolveRouting, sourceBuildId } from '../../engine/runner/builds';
import { suggestPatch } from '../../engine/deploy/suggest';
import { checkResumeOptions } from '../../engine/client/resume-options';
import { defineWorkflow } from '../../engine/workflow/define-workflow';
import { ValidationError } from '../../engine/errors';

const a = defineWorkflow({ name: 'u-a' }, async () => 1);
const b = defineWorkflow({ name: 'u-b', buildId: 'pinned', version: 3 }, async () => 2);
const defs = new Map([[a.name, a], [b.name, b]]) as Map<string, typeof a>;

test('build ids: explicit per definition, else the runner option (string or per name), else a hash of the body', () => {
  expect(resolveRouting(defs, undefined, undefined).byWorkflow.get('u-a')).toEqual({ build: sourceBuildId(a), version: 1 });
  expect(sourceBuildId(a)).toMatch(/^fn-[0-9a-f]{12}$/);
  expect(sourceBuildId(a)).not.toBe(sourceBuildId(defineWorkflow({ name: 'u-a' }, async () => 3)));
  const r = resolveRouting(defs, 'sha-1', undefined);
  expect([r.byWorkflow.get('u-a'), r.byWorkflow.get('u-b')]).toEqual([{ build: 'sha-1', version: 1 }, { build: 'pinned', version: 3 }]);
  expect(resolveRouting(defs, { 'u-a': 'src-1' }, undefined).byWorkflow.get('u-a')?.build).toBe('src-1');
  expect(r.compatible).toBeNull();
  expect(resolveRouting(defs, 'sha-1', ['old']).compatible).toEqual(['old', 'sha-1', 'pinned']);
});

test('bad routing and resume options are ValidationErrors', () => {
  expect(() => resolveRouting(defs, 42 as never, undefined)).toThrow(ValidationError);
  expect(() => resolveRouting(defs, '', undefined)).toThrow(ValidationError);
  expect(() => resolveRouting(defs, undefined, 'old' as never)).toThrow(ValidationError);
  expect(() => resolveRouting(defs, undefined, ['x'.repeat(129)])).toThrow(ValidationError);
  expect(() => defineWorkflow({ name: 'u-c', buildId: '' }, async () => 1)).toThrow(ValidationError);
  expect(() => checkResumeOptions({ fromStep: 1.5 })).toThrow(ValidationError);
  expect(() => checkResumeOptions({ fromStep: {} as never })).toThrow(ValidationError);
  expect(checkResumeOptions({ fromStep: 'charge', build: 'b' })).toEqual({ fromStep: 'charge', build: 'b' });
  expect(checkResumeOptions({})).toEqual({ fromStep: undefined, build: null });
});

test('patch advice names the change to guard', () => {
  expect(suggestPatch(1, { kind: 'timer', name: 'cool' }, { kind: 'step', name: 'fraud check' }))
    .toBe('at position 1 wrap the change: if (ctx.patched("fraud-check-v2")) { /* new: step "fraud check" */ } else { /* old: timer "cool" */ }');
  expect(suggestPatch(3, { kind: 'step', name: 'ship' }, null)).toMatch(/if \(!ctx\.patched\("ship-v2"\)\)/);
  expect(suggestPatch(4, { kind: 'end', name: 'completed' }, { kind: 'step', name: 'notify' })).toMatch(/ended at position 4.*ctx\.patched\("notify-v2"\)/);
  expect(suggestPatch(2, { kind: 'patch', name: 'p1' }, { kind: 'step', name: 'x' })).toMatch(/deprecatePatch\("p1"\)/);
});
