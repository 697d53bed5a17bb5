/**
 * `leaseflow start <workflow> [--input JSON|@file|-] [--id ID] [--delay 5s] [--priority N] [--wait] [--json]`:
 * submit an execution and print its id (or, with --wait, its result). With `--workflows` the
 * registry is known: an unknown workflow is refused (exit 3) and the definition's version and
 * template apply. Without it, ./workflows is used when present; a name found nowhere is started
 * with a warning (a runner elsewhere may serve it).
 */
import { existsSync } from 'node:fs';
import { UnknownWorkflowError, type WorkflowDefinition } from '../../engine';
import { duration, jsonInput, JSON_OPTION, positionals, str } from '../cli-args';
import { loadWorkflows } from '../load-workflows';
import { dbUrl, printJson, withClient, type Command } from './command';
import { awaitOutcome, printOutcome } from './result';

/** The definitions the command line knows: from --workflows, else ./workflows when present. */
async function knownDefinitions(path: string | undefined): Promise<WorkflowDefinition<unknown, unknown>[] | undefined> {
  if (path !== undefined) return loadWorkflows(path);
  return existsSync('./workflows') ? loadWorkflows('./workflows') : undefined;
}

export const startCommand: Command = {
  name: 'start',
  summary: 'start an execution and print its id (or wait for its result)',
  usage: 'leaseflow start <workflow> [--input JSON|@file.json|-] [--id ID] [--delay 5s] [--priority N] [--workflows PATH] [--wait [--timeout 30s]] [--json]',
  description: 'Submit one execution of <workflow>. Starting an existing id with the same input returns it again (idempotent); a different input ' +
    'is a conflict (exit 4). --input takes JSON, @file.json, or - for stdin (no command-line size limit). With --workflows, an unknown workflow ' +
    'is refused (exit 3); without it, one not found in ./workflows is started with a warning. --wait prints the output like `result` (exit 6 if it fails).',
  options: {
    input: { type: 'string', arg: 'JSON', description: 'the workflow input: JSON, @file.json, or - (stdin); default: no input' },
    id: { type: 'string', arg: 'ID', description: 'execution id (default: a time-ordered UUID)' },
    delay: { type: 'string', arg: 'DURATION', description: 'do not run before this delay, e.g. 5s' },
    priority: { type: 'string', arg: 'N', description: 'an integer 0…1000: higher is claimed first among due starts of the workflow (default 0)' },
    workflows: { type: 'string', arg: 'PATH', description: 'the workflow registry (module or directory); unknown names are refused' },
    wait: { type: 'boolean', description: 'wait for the result and print it (as `result` does)' },
    timeout: { type: 'string', arg: 'DURATION', description: 'with --wait: give up waiting after this long (exit 1)' },
    ...JSON_OPTION,
  },
  async run(args, io) {
    const [workflow] = positionals(args, ['workflow'], 'start');
    const delay = duration(args, 'delay');
    const timeout = duration(args, 'timeout');
    const id = str(args, 'id');
    const rawPriority = str(args, 'priority');
    // A non-integer reaches the client's check as NaN: a ValidationError (exit 2), nothing written.
    const priority = rawPriority === undefined ? undefined : /^-?\d+$/.test(rawPriority.trim()) ? Number(rawPriority) : Number.NaN;
    const url = dbUrl(args, io);
    const input = await jsonInput(args, 'input', io.readStdin);
    const registryPath = str(args, 'workflows');
    const defs = await knownDefinitions(registryPath);
    const def = defs?.find((d) => d.name === workflow);
    if (!def && registryPath !== undefined) throw new UnknownWorkflowError(workflow);
    if (!def) io.err(`leaseflow: warning: workflow "${workflow}" is not in ${defs ? './workflows' : 'any local registry (no --workflows, no ./workflows)'}; started by name, it runs only once a runner serves it\n`);
    return withClient(url, async (client) => {
      const handle = def ? await client.start(def, input, { id, delay, priority }) : await client.start(workflow, input, { id, delay, priority });
      if (args.options.wait) return printOutcome(io, await awaitOutcome(handle, timeout), args.options.json === true);
      if (args.options.json) printJson(io, { id: handle.executionId });
      else io.out(`${handle.executionId}\n`);
      return 0;
    });
  },
};
