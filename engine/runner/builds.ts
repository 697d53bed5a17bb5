/**
 * A runner's build routing (issue 12), resolved once from its options: the build id of each
 * served workflow (explicit per definition, the runner's `buildId`, or a hash of the body's
 * source) and the builds it claims. Pure.
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '../errors';
import type { BuildRouting } from '../store/builds';
import { checkStorableText } from '../validation';
import { MAX_BUILD_ID_LENGTH, type WorkflowDefinition } from '../workflow/define-workflow';

/** The default build id of a definition: a hash of its body's source (changes when the body does). */
export function sourceBuildId(def: Pick<WorkflowDefinition, 'fn'>): string {
  return `fn-${createHash('sha256').update(def.fn.toString()).digest('hex').slice(0, 12)}`;
}

const checkBuild = (v: unknown, field: string): string => checkStorableText(v, field, field, MAX_BUILD_ID_LENGTH);

/** Resolve `buildId` / `compatibleBuilds` for the served workflows. */
export function resolveRouting(
  workflows: ReadonlyMap<string, WorkflowDefinition<any, any>>, // eslint-disable-line @typescript-eslint/no-explicit-any
  buildId: string | Readonly<Record<string, string>> | undefined,
  compatibleBuilds: readonly string[] | undefined,
): BuildRouting {
  if (buildId !== undefined && typeof buildId !== 'string' && (buildId === null || typeof buildId !== 'object')) {
    throw new ValidationError('buildId must be a string or a record of workflow name → build id', 'buildId');
  }
  const byWorkflow = new Map<string, { build: string; version: number }>();
  for (const [name, def] of workflows) {
    const given = def.buildId ?? (typeof buildId === 'string' ? buildId : buildId?.[name]);
    const build = given === undefined ? sourceBuildId(def) : checkBuild(given, 'buildId');
    byWorkflow.set(name, { build, version: def.version });
  }
  let compatible: string[] | null = null;
  if (compatibleBuilds !== undefined) {
    if (!Array.isArray(compatibleBuilds)) throw new ValidationError('compatibleBuilds must be an array of build ids', 'compatibleBuilds');
    compatible = [...new Set([...compatibleBuilds.map((b) => checkBuild(b, 'compatibleBuilds')), ...[...byWorkflow.values()].map((b) => b.build)])];
  }
  return Object.freeze({ compatible, byWorkflow });
}
