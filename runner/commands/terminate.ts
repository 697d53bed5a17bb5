/**
 * `leaseflow terminate <id> [--reason text]`: stop an execution now, without its cooperation
 * (cancel asks; terminate does not). It ends cancelled with a TerminatedError; a runner still
 * running it is fenced out.
 */
import { positionals, str } from '../cli-args';
import { dbUrl, withClient, type Command } from './command';

export const terminateCommand: Command = {
  name: 'terminate',
  summary: 'stop an execution now (no compensation)',
  usage: 'leaseflow terminate <id> [--reason text]',
  description: 'End the execution at once as cancelled (error TerminatedError), without running its compensation: unlike `cancel`, the workflow ' +
    'code is not asked. A runner still running it loses its lease and writes nothing more. A finished execution is exit 4.',
  options: { reason: { type: 'string', arg: 'TEXT', description: 'why (recorded as the error message)' } },
  async run(args, io) {
    const [id] = positionals(args, ['id'], 'terminate');
    await withClient(dbUrl(args, io), (client) => client.getHandle(id).terminate(str(args, 'reason') ?? 'terminated from the command line'));
    io.out(`terminated ${id}\n`);
  },
};
