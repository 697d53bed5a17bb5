/**
 * `leaseflow signal <id> <name> [--payload JSON]` and `leaseflow cancel <id> [--reason text]`:
 * messages to a running execution. A finished or unknown execution is a clear error.
 */
import { jsonInput, positionals, str } from '../cli-args';
import { dbUrl, withClient, type Command } from './command';

export const signalCommand: Command = {
  name: 'signal',
  summary: 'send a signal to an execution',
  usage: 'leaseflow signal <id> <name> [--payload JSON|@file.json|-]',
  description: 'Store a signal for the execution (delivered once, in arrival order, to ctx.waitForSignal(name)).',
  options: { payload: { type: 'string', arg: 'JSON', description: 'the signal payload: JSON, @file.json, or - (stdin); default: none' } },
  async run(args, io) {
    const [id, name] = positionals(args, ['id', 'name'], 'signal');
    const payload = await jsonInput(args, 'payload', io.readStdin);
    await withClient(dbUrl(args, io), (client) => client.getHandle(id).signal(name, payload));
    io.out(`signalled ${id}: ${name}\n`);
  },
};

export const cancelCommand: Command = {
  name: 'cancel',
  summary: 'cancel an execution',
  usage: 'leaseflow cancel <id> [--reason text]',
  description: 'Request cancellation. An execution that never started is cancelled at once; a running or waiting one sees CancelledError at its next step and may compensate.',
  options: { reason: { type: 'string', arg: 'TEXT', description: 'why (recorded with the cancellation)' } },
  async run(args, io) {
    const [id] = positionals(args, ['id'], 'cancel');
    const status = await withClient(dbUrl(args, io), async (client) => {
      const handle = client.getHandle(id);
      await handle.cancel(str(args, 'reason') ?? 'cancelled from the command line');
      return (await handle.describe()).status;
    });
    io.out(status === 'cancelled' ? `cancelled ${id}\n` : `cancellation requested for ${id} (it is ${status}; it sees the cancellation at its next step)\n`);
  },
};
