/**
 * `leaseflow resume <id>` (alias `retry`): run a failed execution again from its failed step.
 */
import { positionals } from '../cli-args';
import { dbUrl, withClient, type Command } from './command';

export const resumeCommand: Command = {
  name: 'resume',
  aliases: ['retry'],
  summary: 'run a failed execution again from its failed step',
  usage: 'leaseflow resume <id>',
  description: 'Queue a failed execution again: its history up to the failed step is replayed, the failed step runs afresh (the failed ' +
    'attempt stays recorded under <id>#retry-<n>). Only a failed execution resumes (otherwise exit 4).',
  options: {},
  async run(args, io) {
    const [id] = positionals(args, ['id'], 'resume');
    const { retriedSeq } = await withClient(dbUrl(args, io), (client) => client.getHandle(id).resume());
    io.out(retriedSeq === null ? `resumed ${id}\n` : `resumed ${id} from step #${retriedSeq}\n`);
  },
};
