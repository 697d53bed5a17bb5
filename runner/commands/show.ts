/**
 * `leaseflow show <id> [--json]`: one execution described (status, holder, wait, status payload,
 * input/output/error, timings), then its history as a table. Text cuts long values and says so;
 * `--json` prints everything in full: `{ execution, history }`, history in seq order with every
 * recorded value (what a replay tool reads).
 */
import { JSON_OPTION, positionals } from '../cli-args';
import { countdown, fields, preview, shortDuration, table, timestamp } from '../format';
import { dbUrl, printJson, withClient, type Command } from './command';
import type { ExecutionDescription, WaitFor } from '../../engine';

function waitText(w: WaitFor | null, now: Date): string {
  if (!w) return '—';
  switch (w.kind) {
    case 'timer': return `timer "${w.name}" due ${countdown(new Date(w.dueAt), now)}`;
    case 'retry': return `retry of step "${w.name}" due ${countdown(new Date(w.dueAt), now)}`;
    case 'signal': return `signal "${w.name}"${w.deadline === undefined ? '' : ` (times out ${countdown(new Date(w.deadline), now)})`}`;
    case 'child': return `child ${w.childId}`;
    case 'admission': return 'a free slot of its template';
    case 'rate': return 'its turn under the workflow\'s rate limit';
    case 'any': return `any of: ${w.waits.map((x) => waitText(x, now)).join('; ')}${w.more ? ` and ${w.more} more` : ''}`;
  }
}

/** Widest value shown in text; anything longer is cut, with a note saying so. */
const FIELD_WIDTH = 100;
const CELL_WIDTH = 60;

function isCut(value: unknown, max: number): boolean {
  return preview(value, Number.MAX_SAFE_INTEGER).length > max;
}

function describeText(d: ExecutionDescription, now: Date): string {
  const took = d.finishedAt ? ` (took ${shortDuration(d.finishedAt.getTime() - d.createdAt.getTime())})` : '';
  return fields([
    ['execution', d.id],
    ['run', `${d.runId} (run ${d.runNumber}${d.continuedFrom ? `, continued from ${d.continuedFrom}` : ''})`],
    ['workflow', `${d.workflowName} v${d.workflowVersion}${d.servedByLiveRunner ? '' : '  (no live runner serves it)'}`],
    ['build', `${d.lastBuild ?? '—'}${d.lastVersion !== null && d.lastVersion !== undefined ? ` (v${d.lastVersion})` : ''}${d.startBuild && d.startBuild !== d.lastBuild ? `, started on ${d.startBuild}` : ''}` +
      (d.waitingForBuild ? `  (waiting for build ${d.waitingForBuild}: no live runner serves it)` : '')],
    ['status', d.status + (d.cancelRequested && d.status !== 'cancelled' ? `  (cancel requested: ${d.cancelRequested})` : '')],
    ['attempts', String(d.attempts)],
    ['lease', d.leaseHolder ? `${d.leaseHolder.owner} (token ${d.leaseToken}, expires ${countdown(d.leaseHolder.expiresAt, now)})` : '—'],
    ['waiting for', d.status === 'waiting' || d.status === 'queued' ? waitText(d.waitingFor, now) : '—'],
    ['progress', preview(d.customStatus, FIELD_WIDTH)],
    ['input', preview(d.input, FIELD_WIDTH)],
    ['output', preview(d.output, FIELD_WIDTH)],
    ['error', d.error ? `${d.error.name}: ${d.error.message}` : '—'],
    ['template', d.templateKey ? `${d.templateKey}${d.admitted ? ' (admitted)' : ''}` : '—'],
    ['parent', d.parentId ?? '—'],
    ['signals', `${d.pendingSignals} pending${d.undeliveredSignals.length ? `, ${d.undeliveredSignals.length} undelivered (finished first)` : ''}`],
    ['created', `${timestamp(d.createdAt)} UTC`],
    ['started', d.startedAt ? `${timestamp(d.startedAt)} UTC` : '—'],
    ['finished', d.finishedAt ? `${timestamp(d.finishedAt)} UTC${took}` : '—'],
  ]);
}

export const showCommand: Command = {
  name: 'show',
  summary: 'describe one execution and print its history',
  usage: 'leaseflow show <id> [--json]',
  description: 'Describe an execution (status, lease holder, what it waits for, its published status, input, output or error, timings) and list its history events. ' +
    `Text cuts values to ${FIELD_WIDTH} characters (${CELL_WIDTH} in the history table) and says so; --json prints every value in full.`,
  options: { ...JSON_OPTION },
  async run(args, io) {
    const [id] = positionals(args, ['id'], 'show');
    const { description, history } = await withClient(dbUrl(args, io), async (client) => {
      const handle = client.getHandle(id);
      const d = await handle.describe();
      return { description: d, history: await handle.history() };
    });
    if (args.options.json) {
      printJson(io, { execution: description, history });
      return;
    }
    io.out(`${describeText(description, new Date())}\n\n`);
    const cut = [description.customStatus, description.input, description.output].some((v) => isCut(v, FIELD_WIDTH)) ||
      history.some((e) => isCut(e.value, CELL_WIDTH));
    if (history.length === 0) io.out('history: no events yet\n');
    else {
      const rows = history.map((e) => [
        String(e.seq), e.kind, e.name, e.status, String(e.attempt), String(e.leaseToken), e.at.toISOString().slice(11, 23), preview(e.value, CELL_WIDTH),
      ]);
      io.out(`history (${history.length} event${history.length === 1 ? '' : 's'})\n${table(['SEQ', 'KIND', 'NAME', 'STATUS', 'ATTEMPT', 'TOKEN', 'TIME (UTC)', 'VALUE'], rows, CELL_WIDTH)}\n`);
    }
    if (cut) io.out(`(values ending in … are cut; \`leaseflow show ${id} --json\` prints them in full)\n`);
  },
};
