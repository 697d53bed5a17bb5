/**
 * `leaseflow list [--status s] [--workflow w] [--limit n]`: executions, newest first, as a table.
 */
import { ExecutionStatus } from '../../engine';
import { int, JSON_OPTION, positionals, str, UsageError } from '../cli-args';
import { shortDuration, table, timestamp } from '../format';
import { dbUrl, printJson, withClient, type Command } from './command';

const STATUSES = Object.values(ExecutionStatus);

export const listCommand: Command = {
  name: 'list',
  summary: 'list executions (newest first)',
  usage: 'leaseflow list [--status s[,s…]] [--workflow w] [--build id] [--limit n] [--json]',
  description: `List executions, newest first. Statuses: ${STATUSES.join(', ')}.`,
  options: {
    status: { type: 'string', arg: 'STATUS', description: 'only these statuses (comma-separated)' },
    workflow: { type: 'string', arg: 'NAME', description: 'only this workflow' },
    build: { type: 'string', arg: 'ID', description: 'only executions last run by this build' },
    limit: { type: 'string', arg: 'N', description: 'at most N rows (1–1000, default 50)' },
    ...JSON_OPTION,
  },
  async run(args, io) {
    positionals(args, [], 'list');
    const statusText = str(args, 'status');
    const status = statusText?.split(',').map((s) => s.trim()).filter(Boolean) as ExecutionStatus[] | undefined;
    const bad = status?.find((s) => !STATUSES.includes(s));
    if (bad !== undefined) throw new UsageError(`--status "${bad}" is not one of ${STATUSES.join(', ')}`);
    const limit = int(args, 'limit', 50, 1, 1000);
    const page = await withClient(dbUrl(args, io), (client) => client.list({ status, workflow: str(args, 'workflow'), build: str(args, 'build'), limit }));
    if (args.options.json) {
      printJson(io, { executions: page.executions, more: page.nextCursor !== undefined && page.nextCursor !== null });
      return;
    }
    if (page.executions.length === 0) {
      io.out('no executions\n');
      return;
    }
    const rows = page.executions.map((e) => [
      e.id, e.workflowName, e.status, e.lastBuild ?? '—', String(e.attempts), timestamp(e.createdAt),
      e.finishedAt ? shortDuration(e.finishedAt.getTime() - e.createdAt.getTime()) : '—', e.parentId ?? '',
    ]);
    io.out(`${table(['ID', 'WORKFLOW', 'STATUS', 'BUILD', 'ATTEMPTS', 'CREATED (UTC)', 'TOOK', 'PARENT'], rows)}\n`);
    if (page.nextCursor) io.out(`(more than ${limit}; raise --limit or filter)\n`);
  },
};
