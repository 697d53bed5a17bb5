/**
 * `leaseflow` — the command line. Finds the command (registered in commands/index.ts), parses
 * its options, runs it, and turns any error into ONE line on stderr (`leaseflow: <message>`)
 * with the exit code of its class (exit-codes.ts).
 */
import { LeaseflowError } from '../engine';
import { helpText, parseArgs, UsageError } from './cli-args';
import { NotMigratedError, useCodecs, useNamespace, type Io } from './commands/command';
import { COMMANDS, findCommand } from './commands';
import { exitCodeOf, EXIT } from './exit-codes';
import { codecsFromEnv } from './codec-env';

export { COMMANDS } from './commands';

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return 'usage: leaseflow <command> [options]   (global: --db URL, -h/--help)\n\n' +
    'leaseflow — durable workflows with a lease scheduler on MySQL/MariaDB or SQLite.\n\ncommands:\n' +
    COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}${c.aliases ? ` (alias: ${c.aliases.join(', ')})` : ''}`).join('\n') +
    '\n\nThe store is --db URL, else LEASEFLOW_DB_URL, else sqlite:./.leaseflow/leaseflow.db.\n' +
    'Run `leaseflow <command> --help` for the options of a command.\n\n' +
    `exit codes: 0 ok, ${EXIT.usage} usage, ${EXIT.notFound} not found, ${EXIT.conflict} conflict, ${EXIT.storeUnavailable} store unavailable, ` +
    `${EXIT.workflowFailed} workflow failed (--wait, result), 1 anything else\n`;
}

/** The command name: the first argument that is neither an option nor the value of --db. */
function splitCommand(argv: readonly string[]): { name?: string; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i];
    if (t === '--db' || t === '--namespace') { i++; continue; } // global options with a value may come first
    if (t === '--') break;
    if (!t.startsWith('-')) return { name: t, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { rest: [...argv] };
}

/** Run the command line; resolves to the exit code. */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  try {
    const { name, rest } = splitCommand(argv);
    if (name === undefined || name === 'help') {
      const topic = name === 'help' ? findCommand(rest.find((a) => !a.startsWith('-')) ?? '') : undefined;
      if (topic) {
        io.out(helpText(topic.usage, topic.description, topic.options));
        return 0;
      }
      const asked = name === 'help' || rest.includes('--help') || rest.includes('-h');
      if (!asked && rest.length > 0) parseArgs(rest, {}, 'leaseflow'); // report a bad global option as such
      (asked ? io.out : io.err)(mainHelp());
      return asked ? 0 : 2;
    }
    const command = findCommand(name);
    if (!command) throw new UsageError(`unknown command "${name}" (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
    const args = parseArgs(rest, command.options, `"${command.name}"`);
    if (args.options.help) {
      io.out(helpText(command.usage, command.description, command.options));
      return 0;
    }
    useNamespace(typeof args.options.namespace === 'string' ? args.options.namespace : io.env.LEASEFLOW_NAMESPACE);
    useCodecs(codecsFromEnv(io.env)); // LEASEFLOW_PAYLOAD_KEYS: decode (and encode) payloads like the runners
    return (await command.run(args, io)) ?? 0;
  } catch (err) {
    io.err(`leaseflow: ${errorLine(err)}\n`);
    if (io.env.LEASEFLOW_DEBUG && err instanceof Error && err.stack) io.err(`${err.stack}\n`);
    return exitCodeOf(err);
  }
}

/** One line that says what went wrong. */
function errorLine(err: unknown): string {
  if (err instanceof LeaseflowError || err instanceof UsageError || err instanceof NotMigratedError) return firstLine(err.message);
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const text = firstLine(err.message) || err.name;
    return typeof code === 'string' && !text.includes(code) ? `${text} (${code})` : text;
  }
  return String(err);
}

function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? '';
}

/** Run the command line in this process with its real stdio, env and exit code. */
export function main(argv: readonly string[]): void {
  const io: Io = {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    env: process.env,
    isTTY: process.stdout.isTTY === true,
    readStdin,
  };
  const exit = (code: number) => {
    process.exitCode = code;
    // Normally nothing is left and the process ends now; a stray handle must not keep it alive.
    setTimeout(() => process.exit(code), 2000).unref();
  };
  runCli(argv, io).then(exit, (err: unknown) => {
    process.stderr.write(`leaseflow: ${String(err)}\n`);
    exit(1);
  });
}

/** All of stdin as text (any size). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

if (require.main === module) main(process.argv.slice(2));
