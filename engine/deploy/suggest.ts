/**
 * The deploy gate's advice: which `ctx.patched` / `ctx.deprecatePatch` would make a change
 * compatible with a history, from the first divergence. Pure.
 */

const q = (s: string): string => JSON.stringify(s);
const changeId = (name: string): string => `${name.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'change'}-v2`;

/** One sentence of advice for a divergence at `seq`. */
export function suggestPatch(seq: number, expected: { kind: string; name: string }, actual: { kind: string; name: string } | null): string {
  if (expected.kind === 'patch') {
    return `the history took patch ${q(expected.name)} at position ${seq}: keep ctx.patched(${q(expected.name)}) there, ` +
      `or ctx.deprecatePatch(${q(expected.name)}) if the old branch is gone`;
  }
  if (expected.kind === 'end' && actual) {
    return `the execution ended at position ${seq}; guard the new ${actual.kind} ${q(actual.name)}: ` +
      `if (ctx.patched(${q(changeId(actual.name))})) { /* new code */ }`;
  }
  if (!actual) {
    return `the old code issued ${expected.kind} ${q(expected.name)} at position ${seq}; keep it for old executions: ` +
      `if (!ctx.patched(${q(changeId(expected.name))})) { /* old ${expected.kind} ${q(expected.name)} */ }`;
  }
  return `at position ${seq} wrap the change: if (ctx.patched(${q(changeId(actual.name))})) { /* new: ${actual.kind} ${q(actual.name)} */ } ` +
    `else { /* old: ${expected.kind} ${q(expected.name)} */ }`;
}
