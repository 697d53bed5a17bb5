/**
 * `leaseflow start <workflow> --input JSON [--id ID] [--delay 5s]`: submit an execution and
 * print its id. When the workflow's definition can be loaded (from --workflows, default
 * ./workflows), it is used, so the definition's version and template lock apply.
 */
import { existsSync } from 'node:fs';
import type { WorkflowDefinition } from '../../engine';
import { duration, json, positionals, str } from '../cli-args';
import { loadWorkflows } from '../load-workflows';
import { dbUrl, withClient, type Command } from './command';

async function findDefinition(path: string | undefined, name: string): Promise<WorkflowDefinition<unknown, unknown> | undefined> {
  const dir = path ?? './workflows';
  if (path === undefined && !existsSync(dir)) return undefined;
  const defs = await loadWorkflows(dir);
  return defs.find((d) => d.name === name);
}

export const startCommand: Command = {
  name: 'start',
  summary: 'start an execution and print its id',
  usage: 'leaseflow start <workflow> [--input JSON] [--id ID] [--delay 5s] [--workflows <dir|module>]',
  description: 'Submit one execution of <workflow>. Starting an existing id with the same input returns it again (idempotent); a different input is an error.',
  options: {
    input: { type: 'string', arg: 'JSON', description: 'the workflow input as JSON (default: no input)' },
    id: { type: 'string', arg: 'ID', description: 'execution id (default: a random UUID)' },
    delay: { type: 'string', arg: 'DURATION', description: 'do not run before this delay, e.g. 5s' },
    workflows: { type: 'string', arg: 'PATH', description: 'where the definition lives (default ./workflows when present)' },
  },
  async run(args, io) {
    const [workflow] = positionals(args, ['workflow'], 'start');
    const input = json(args, 'input');
    const delay = duration(args, 'delay');
    const id = str(args, 'id');
    const url = dbUrl(args, io);
    const def = await findDefinition(str(args, 'workflows'), workflow);
    const handle = await withClient(url, (client) => def
      ? client.start(def, input, { id, delay })
      : client.start(workflow, input, { id, delay }));
    if (!def) io.err(`leaseflow: note: no definition of "${workflow}" found locally; started by name (it runs once a runner serves it)\n`);
    io.out(`${handle.executionId}\n`);
  },
};
