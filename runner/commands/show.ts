/**
 * `leaseflow show <id>`: one execution described (status, holder, wait, status payload,
 * input/output/error, timings), then its history as a table.
 */
import { positionals } from '../cli-args';
import { countdown, fields, preview, shortDuration, table, timestamp } from '../format';
import { dbUrl, withClient, type Command } from './command';
import type { ExecutionDescription, WaitFor } from '../../engine';

function waitText(w: WaitFor | null, now: Date): string {
  if (!w) return '—';
  switch (w.kind) {
    case 'timer': return `timer "${w.name}" due ${countdown(new Date(w.dueAt), now)}`;
    case 'retry': return `retry of step "${w.name}" due ${countdown(new Date(w.dueAt), now)}`;
    case 'signal': return `signal "${w.name}"${w.deadline === undefined ? '' : ` (times out ${countdown(new Date(w.deadline), now)})`}`;
    case 'child': return `child ${w.childId}`;
    case 'admission': return 'a free slot of its template';
  }
}

function describeText(d: ExecutionDescription, now: Date): string {
  const took = d.finishedAt ? ` (took ${shortDuration(d.finishedAt.getTime() - d.createdAt.getTime())})` : '';
  return fields([
    ['execution', d.id],
    ['run', `${d.runId} (run ${d.runNumber}${d.continuedFrom ? `, continued from ${d.continuedFrom}` : ''})`],
    ['workflow', `${d.workflowName} v${d.workflowVersion}${d.servedByLiveRunner ? '' : '  (no live runner serves it)'}`],
    ['status', d.status + (d.cancelRequested && d.status !== 'cancelled' ? `  (cancel requested: ${d.cancelRequested})` : '')],
    ['attempts', String(d.attempts)],
    ['lease', d.leaseHolder ? `${d.leaseHolder.owner} (token ${d.leaseToken}, expires ${countdown(d.leaseHolder.expiresAt, now)})` : '—'],
    ['waiting for', d.status === 'waiting' || d.status === 'queued' ? waitText(d.waitingFor, now) : '—'],
    ['progress', preview(d.customStatus, 100)],
    ['input', preview(d.input, 100)],
    ['output', preview(d.output, 100)],
    ['error', d.error ? `${d.error.name}: ${d.error.message}` : '—'],
    ['template', d.templateKey ? `${d.templateKey}${d.admitted ? ' (admitted)' : ''}` : '—'],
    ['parent', d.parentId ?? '—'],
    ['signals', `${d.pendingSignals} pending`],
    ['created', `${timestamp(d.createdAt)} UTC`],
    ['started', d.startedAt ? `${timestamp(d.startedAt)} UTC` : '—'],
    ['finished', d.finishedAt ? `${timestamp(d.finishedAt)} UTC${took}` : '—'],
  ]);
}

export const showCommand: Command = {
  name: 'show',
  summary: 'describe one execution and print its history',
  usage: 'leaseflow show <id>',
  description: 'Describe an execution (status, lease holder, what it waits for, its published status, input, output or error, timings) and list its history events.',
  options: {},
  async run(args, io) {
    const [id] = positionals(args, ['id'], 'show');
    const { description, history } = await withClient(dbUrl(args, io), async (client) => {
      const handle = client.getHandle(id);
      const d = await handle.describe();
      return { description: d, history: await handle.history() };
    });
    io.out(`${describeText(description, new Date())}\n\n`);
    if (history.length === 0) {
      io.out('history: no events yet\n');
      return;
    }
    const rows = history.map((e) => [
      String(e.seq), e.kind, e.name, e.status, String(e.attempt), String(e.leaseToken), e.at.toISOString().slice(11, 23), preview(e.value, 60),
    ]);
    io.out(`history (${history.length} event${history.length === 1 ? '' : 's'})\n${table(['SEQ', 'KIND', 'NAME', 'STATUS', 'ATTEMPT', 'TOKEN', 'TIME (UTC)', 'VALUE'], rows)}\n`);
  },
};
