/**
 * SQL of code versions (issue 12): which build ran an execution, and which builds a runner
 * claims. A claim stamps `last_build`/`last_version` (and `start_build` the first time) with the
 * claiming runner's build of the workflow; a runner restricted by `compatibleBuilds` claims only
 * executions never run (`last_build IS NULL`: no history, any code can run them) or last run by
 * a build it lists. Executions no live runner can take stay queued: `waitingForBuild`.
 */
import { namespaceOf, nsKey } from '../namespace/keys';
import type { SqlRunner, SqlStore } from './sql';
import type { ExecutionRecord } from './types';

/** How a runner routes by build: what it claims, and the build it stamps per workflow. */
export interface BuildRouting {
  /** Build ids whose executions this runner claims (its own included); null: any build. */
  readonly compatible: readonly string[] | null;
  /** Build id and definition version of each served workflow. */
  readonly byWorkflow: ReadonlyMap<string, { readonly build: string; readonly version: number }>;
}

/** The claim SELECT's extra condition (empty without a restriction); its parameters follow the workflow list. */
export function buildFilter(routing: BuildRouting | undefined): { sql: string; params: unknown[] } {
  if (!routing?.compatible) return { sql: '', params: [] };
  return { sql: ' AND (last_build IS NULL OR last_build IN (?))', params: [routing.compatible] };
}

/**
 * The claim UPDATE's extra SET terms recording which build now runs the claimed executions
 * (by workflow: `start_build` the first time, `last_build`/`last_version` every time), so the
 * stamp rides the claim's own statement; empty without routing. Its parameters go between the
 * other SET parameters and the WHERE's.
 */
export function buildStampSet(picked: readonly ExecutionRecord[], routing: BuildRouting | undefined): { sql: string; params: unknown[] } {
  if (!routing) return { sql: '', params: [] };
  const names = [...new Set(picked.map((e) => e.workflowName))].filter((n) => routing.byWorkflow.has(n));
  if (names.length === 0) return { sql: '', params: [] };
  const whens = names.map(() => 'WHEN ? THEN ?').join(' ');
  const pairs = (f: (b: { build: string; version: number }) => unknown) => names.flatMap((n) => [n, f(routing.byWorkflow.get(n)!)]);
  return {
    sql: `, start_build = COALESCE(start_build, CASE workflow_name ${whens} END), last_build = CASE workflow_name ${whens} ELSE last_build END, ` +
      `last_version = CASE workflow_name ${whens} ELSE last_version END`,
    params: [...pairs((b) => b.build), ...pairs((b) => b.build), ...pairs((b) => b.version)],
  };
}

/**
 * The build an unfinished execution waits for when no live runner can claim it: its last build,
 * unless some live runner serving the workflow accepts any build or lists that one. Null otherwise.
 */
export async function waitingForBuild(store: SqlStore, rec: ExecutionRecord): Promise<string | null> {
  if (rec.lastBuild === null || !['queued', 'waiting'].includes(rec.status)) return null;
  const rows = await store.all<{ workflows: unknown; builds: unknown }>("SELECT workflows, builds FROM workflow_runners WHERE status = 'live'");
  const served = rows.some((r) => {
    // Runners store their workflows namespaced (store/runners.ts): only a runner of the execution's namespace serves it.
    if (!(JSON.parse(String(r.workflows)) as string[]).includes(nsKey(namespaceOf(rec.id), rec.workflowName))) return false;
    if (r.builds === null || r.builds === undefined) return true;
    return (JSON.parse(String(r.builds)) as string[]).includes(rec.lastBuild as string);
  });
  return served ? null : rec.lastBuild;
}

/** Route `id` to `build` (fork/resume `--build`): only runners listing it (or unrestricted ones) claim it. */
export async function routeToBuild(q: SqlRunner, id: string, build: string): Promise<void> {
  await q.run('UPDATE workflow_executions SET last_build = ? WHERE id = ?', [build, id]);
}
