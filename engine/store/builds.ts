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
 * Inside the claim transaction: record which build now runs the claimed executions — one UPDATE
 * per distinct build among those whose stamp changes (none on a re-claim by the same build).
 */
export async function stampBuilds(q: SqlRunner, picked: readonly ExecutionRecord[], routing: BuildRouting | undefined): Promise<void> {
  if (!routing || picked.length === 0) return;
  const groups = new Map<string, { build: string; version: number; ids: string[] }>();
  for (const e of picked) {
    const b = routing.byWorkflow.get(e.workflowName);
    // Already stamped with this build (a re-claim after a wait): no statement at all.
    if (!b || (e.lastBuild === b.build && e.lastVersion === b.version && e.startBuild !== null)) continue;
    const key = `${b.version}\u0000${b.build}`;
    const g = groups.get(key) ?? { build: b.build, version: b.version, ids: [] };
    g.ids.push(e.id);
    groups.set(key, g);
  }
  for (const g of groups.values()) {
    await q.run(
      'UPDATE workflow_executions SET start_build = COALESCE(start_build, ?), last_build = ?, last_version = ? WHERE id IN (?)',
      [g.build, g.build, g.version, g.ids],
    );
  }
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
