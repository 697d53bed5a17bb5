/**
 * `leaseflow result <id> [--timeout 30s] [--json]`: wait for an execution to finish and print its
 * output (JSON). A failed or cancelled execution is exit code 6 with its recorded error.
 * `start --wait` prints the same way (printOutcome).
 */
import { WorkflowFailedError, type WorkflowHandle, type RecordedError } from '../../engine';
import { duration, JSON_OPTION, positionals } from '../cli-args';
import { EXIT } from '../exit-codes';
import { dbUrl, printJson, withClient, type Command, type Io } from './command';

/** How an execution ended. */
export interface Outcome {
  id: string;
  status: string;
  output?: unknown;
  error?: RecordedError | null;
}

/** Wait (bounded by `timeout` when given) for `handle` to finish; its status and output or error. */
export async function awaitOutcome(handle: WorkflowHandle, timeout: string | undefined): Promise<Outcome> {
  await handle.result(timeout === undefined ? {} : { timeout }).catch((err: unknown) => {
    // A TimeoutError is ours to report; the workflow's own error is read back from the record below.
    if ((err as { code?: unknown }).code === 'TIMEOUT') throw err;
  });
  const d = await handle.describe();
  return d.status === 'completed' ? { id: d.id, status: d.status, output: d.output } : { id: d.id, status: d.status, error: d.error };
}

/** Print an outcome; resolves to the exit code (6 unless it completed). */
export function printOutcome(io: Io, outcome: Outcome, asJson: boolean): number {
  if (asJson) {
    printJson(io, outcome);
    return outcome.status === 'completed' ? EXIT.ok : EXIT.workflowFailed;
  }
  if (outcome.status !== 'completed') {
    throw new WorkflowFailedError(outcome.id, outcome.error ?? { name: 'Error', message: `execution ${outcome.status}` });
  }
  io.out(`${outcome.output === undefined ? 'null' : JSON.stringify(outcome.output)}\n`);
  return EXIT.ok;
}

export const resultCommand: Command = {
  name: 'result',
  summary: 'wait for an execution to finish and print its output',
  usage: 'leaseflow result <id> [--timeout 30s] [--json]',
  description: 'Wait until the execution finishes, then print its output as JSON (exit 0), or its error (exit 6 when it failed or was cancelled). ' +
    '--json prints {id, status, output|error} whatever the outcome. Without --timeout it waits as long as it takes.',
  options: {
    timeout: { type: 'string', arg: 'DURATION', description: 'give up after this long (exit 1)' },
    ...JSON_OPTION,
  },
  async run(args, io) {
    const [id] = positionals(args, ['id'], 'result');
    const timeout = duration(args, 'timeout');
    const outcome = await withClient(dbUrl(args, io), (client) => awaitOutcome(client.getHandle(id), timeout));
    return printOutcome(io, outcome, args.options.json === true);
  },
};
