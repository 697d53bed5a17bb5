/**
 * `leaseflow schedule <action> …`: the schedules API on the command line — create, update, list,
 * describe, pause, unpause, trigger, backfill, delete. Read actions take --json. Workflows are
 * named (not loaded): a template workflow's key is not computed here (use the client for those).
 */
import { OVERLAP_POLICIES, type OverlapPolicy, type ScheduleDescription, type ScheduleUpdate } from '../../engine';
import { duration, json, str, UsageError, type ParsedArgs } from '../cli-args';
import { fields, preview, shortDuration, table, timestamp } from '../format';
import { dbUrl, withClient, type Command, type Io } from './command';

const ACTIONS = ['create', 'update', 'list', 'describe', 'pause', 'unpause', 'trigger', 'backfill', 'delete'] as const;
type Action = (typeof ACTIONS)[number];

function overlapOf(args: ParsedArgs): OverlapPolicy | undefined {
  const v = str(args, 'overlap');
  if (v !== undefined && !OVERLAP_POLICIES.includes(v as OverlapPolicy)) throw new UsageError(`--overlap must be one of ${OVERLAP_POLICIES.join(', ')}`);
  return v as OverlapPolicy | undefined;
}

function dateOf(args: ParsedArgs, name: string): Date {
  const v = str(args, name);
  const d = v === undefined ? undefined : new Date(v);
  if (!d || Number.isNaN(d.getTime())) throw new UsageError(`--${name} must be an ISO date-time like 2026-11-30T00:00:00Z`);
  return d;
}

/** The definition fields given as options (create and update). */
function definitionOf(args: ParsedArgs): ScheduleUpdate {
  const patch: ScheduleUpdate = {};
  if (str(args, 'workflow') !== undefined) patch.workflow = str(args, 'workflow');
  if (str(args, 'input') !== undefined) patch.input = json(args, 'input');
  if (str(args, 'cron') !== undefined) patch.cron = str(args, 'cron');
  if (str(args, 'every') !== undefined) patch.every = duration(args, 'every');
  if (str(args, 'timezone') !== undefined) patch.timezone = str(args, 'timezone');
  if (str(args, 'catchup-window') !== undefined) patch.catchupWindow = duration(args, 'catchup-window');
  if (str(args, 'jitter') !== undefined) patch.jitter = duration(args, 'jitter');
  const overlap = overlapOf(args);
  if (overlap) patch.overlap = overlap;
  if (args.options.paused) patch.paused = true;
  return patch;
}

function rule(d: { cron: string | null; everyMs: number | null; timezone: string | null }): string {
  return d.cron !== null ? `cron "${d.cron}" (${d.timezone ?? 'UTC'})` : `every ${shortDuration(d.everyMs ?? 0)}`;
}

function printDescription(d: ScheduleDescription, io: Io, asJson: boolean): void {
  if (asJson) { io.out(`${JSON.stringify(d, null, 2)}\n`); return; }
  io.out(`${fields([
    ['id', d.id], ['workflow', d.workflowName], ['input', preview(d.input)], ['rule', rule(d)], ['overlap', d.overlap],
    ['catch-up window', shortDuration(d.catchupWindowMs)], ['jitter', shortDuration(d.jitterMs)], ['paused', String(d.paused)],
    ['next fires', d.nextFireTimes.map(timestamp).join(', ') || '—'], ['buffered', String(d.bufferedFireTimes.length)],
    ['last fire', timestamp(d.lastFireAt)], ['fired / skipped / missed', `${d.counts.fired} / ${d.counts.skipped} / ${d.counts.missed}`],
  ])}\n`);
  if (d.recentRuns.length) io.out(`\n${table(['EXECUTION', 'STATUS', 'FINISHED (UTC)'], d.recentRuns.map((r) => [r.executionId, r.status, timestamp(r.finishedAt)]), 80)}\n`);
}

export const scheduleCommand: Command = {
  name: 'schedule',
  summary: 'cron and interval schedules (create, list, describe, pause, trigger, backfill…)',
  usage: `leaseflow schedule <${ACTIONS.join('|')}> [<id>] [options]`,
  description: [
    'Manage schedules. Each fire starts one execution named <id>:<fire time ISO>.',
    '  create <id> --workflow W (--cron EXPR [--timezone TZ] | --every DUR) [--input JSON] [--overlap P] [--catchup-window DUR] [--jitter DUR] [--paused]',
    '  update <id> [any create option]      list [--json]      describe <id> [--json]',
    '  pause <id>   unpause <id>   trigger <id> [--overlap P]   delete <id>',
    '  backfill <id> --from ISO --to ISO [--overlap P]',
    `Overlap policies: ${OVERLAP_POLICIES.join(', ')} (default skip).`,
  ].join('\n'),
  options: {
    workflow: { type: 'string', arg: 'NAME', description: 'workflow each fire starts' },
    input: { type: 'string', arg: 'JSON', description: 'input of every execution' },
    cron: { type: 'string', arg: 'EXPR', description: "cron expression, e.g. '30 2 * * *' (6 fields: seconds first)" },
    every: { type: 'string', arg: 'DURATION', description: 'fixed interval aligned to the epoch, e.g. 1h' },
    timezone: { type: 'string', arg: 'TZ', description: 'IANA zone of --cron (default UTC)' },
    overlap: { type: 'string', arg: 'POLICY', description: `one of ${OVERLAP_POLICIES.join(', ')}` },
    'catchup-window': { type: 'string', arg: 'DURATION', description: 'fires missed during downtime up to this old still start (default 1h)' },
    jitter: { type: 'string', arg: 'DURATION', description: 'delay each start by up to this much' },
    paused: { type: 'boolean', description: 'create paused' },
    from: { type: 'string', arg: 'ISO', description: 'backfill: first instant (inclusive)' },
    to: { type: 'string', arg: 'ISO', description: 'backfill: last instant (exclusive)' },
    json: { type: 'boolean', description: 'print JSON (list, describe)' },
  },
  async run(args, io) {
    const [action, id, extra] = args.positionals as [Action | undefined, string | undefined, string | undefined];
    if (!action || !ACTIONS.includes(action)) throw new UsageError(`schedule needs an action: ${ACTIONS.join(', ')} (see --help)`);
    if (extra !== undefined) throw new UsageError(`schedule ${action}: unexpected argument "${extra}"`);
    if (action === 'list') {
      if (id !== undefined) throw new UsageError(`schedule list: unexpected argument "${id}"`);
    } else if (id === undefined) {
      throw new UsageError(`schedule ${action} needs <id>`);
    }
    const sid = id as string;
    const asJson = args.options.json === true;
    await withClient(dbUrl(args, io), async (client) => {
      const s = client.schedules;
      switch (action) {
        case 'create': {
          const d = await s.create({ ...definitionOf(args), id: sid, workflow: str(args, 'workflow') as string });
          io.out(`created ${d.id}; next fire ${timestamp(d.nextFireTimes[0])}\n`);
          break;
        }
        case 'update': return printDescription(await s.update(sid, definitionOf(args)), io, false);
        case 'describe': return printDescription(await s.describe(sid), io, asJson);
        case 'list': {
          const rows = await s.list({ limit: 1000 });
          if (asJson) return io.out(`${JSON.stringify(rows, null, 2)}\n`);
          if (!rows.length) return io.out('no schedules\n');
          return io.out(`${table(['ID', 'WORKFLOW', 'RULE', 'OVERLAP', 'NEXT FIRE (UTC)', 'LAST FIRE (UTC)'],
            rows.map((r) => [r.id, r.workflowName, rule(r), r.overlap, r.paused ? 'paused' : timestamp(r.nextFireAt), timestamp(r.lastFireAt)]))}\n`);
        }
        case 'pause': await s.pause(sid); io.out(`paused ${sid}\n`); break;
        case 'unpause': await s.unpause(sid); io.out(`unpaused ${sid}\n`); break;
        case 'delete': await s.delete(sid); io.out(`deleted ${sid}\n`); break;
        case 'trigger':
        case 'backfill': {
          const overlap = overlapOf(args);
          const r = action === 'trigger' ? await s.trigger(sid, { overlap }) : await s.backfill(sid, dateOf(args, 'from'), dateOf(args, 'to'), { overlap });
          for (const e of r.started) io.out(`${e}\n`);
          io.out(`started ${r.started.length}, already fired ${r.alreadyFired.length}, buffered ${r.buffered}, skipped ${r.skipped}\n`);
          break;
        }
      }
    });
  },
};
