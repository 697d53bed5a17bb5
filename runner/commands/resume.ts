/**
 * `leaseflow resume <id>` (alias `retry`): run a failed execution again from its failed step.
 */
import { positionals, str } from '../cli-args';
import { dbUrl, withClient, type Command } from './command';

export const resumeCommand: Command = {
  name: 'resume',
  aliases: ['retry'],
  summary: 'run a failed execution again from its failed step',
  usage: 'leaseflow resume <id> [--from-step name|seq] [--build id]',
  description: 'Queue a failed execution again: its history up to the failed step is replayed, the failed step runs afresh (the failed ' +
    'attempt stays recorded under <id>#retry-<n>). With --from-step, from that step instead (a name: its last occurrence; digits: a ' +
    'history position): the history before it is kept and replayed on the current code, the rest moved aside under <id>#fork-<n>. ' +
    '--build routes it to runners serving that build. Only a failed (or parked) execution resumes (otherwise exit 4); an unknown step exits 3.',
  options: {
    'from-step': { type: 'string', arg: 'STEP', description: 'step name or history position to re-run from (default: the failed step)' },
    build: { type: 'string', arg: 'ID', description: 'route it to runners serving this build id' },
  },
  async run(args, io) {
    const [id] = positionals(args, ['id'], 'resume');
    const from = str(args, 'from-step');
    const fromStep = from !== undefined && /^\d+$/.test(from) ? Number(from) : from;
    const { retriedSeq } = await withClient(dbUrl(args, io), (client) => client.getHandle(id).resume({ fromStep, build: str(args, 'build') }));
    io.out(retriedSeq === null ? `resumed ${id}\n` : `resumed ${id} from step #${retriedSeq}\n`);
  },
};
