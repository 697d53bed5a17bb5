/**
 * Arguments of the `leaseflow` command line, parsed by node:util `parseArgs` (strict: unknown
 * options, missing values and stray positionals are errors). Everything wrong with how a
 * command was called is a `UsageError` (exit code 2), as are malformed numbers, JSON and
 * durations; `--input @file.json` and `--input -` (stdin) are read here too.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs as parseArgv } from 'node:util';
import { toMs } from '../engine';

/** A mistake in how the command was called (exit code 2). */
export class UsageError extends Error {
  readonly code = 'USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** One option of a command. */
export interface OptionDef {
  type: 'string' | 'boolean';
  /** One-letter alias, without the dash. */
  short?: string;
  /** Placeholder and description for `--help`. */
  arg?: string;
  description: string;
}

/** The options a command accepts. */
export type OptionSpec = Record<string, OptionDef>;

/** Parsed arguments. */
export interface ParsedArgs {
  options: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** Options every command accepts. */
export const GLOBAL_OPTIONS: OptionSpec = {
  db: { type: 'string', arg: 'URL', description: 'store URL (else LEASEFLOW_DB_URL, else sqlite:./.leaseflow/leaseflow.db)' },
  namespace: { type: 'string', arg: 'NS', description: 'namespace of ids, keys and schedules (else LEASEFLOW_NAMESPACE, else default)' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
};

/** The `--json` option of read commands. */
export const JSON_OPTION: OptionSpec = {
  json: { type: 'boolean', description: 'print JSON (one document on stdout) instead of text' },
};

/** Parse `argv` against `spec` (plus the global options). */
export function parseArgs(argv: readonly string[], spec: OptionSpec, where: string): ParsedArgs {
  const all: OptionSpec = { ...GLOBAL_OPTIONS, ...spec };
  const options = Object.fromEntries(Object.entries(all).map(([name, d]) => [name, d.short ? { type: d.type, short: d.short } : { type: d.type }]));
  try {
    const { values, positionals } = parseArgv({ args: [...argv], options, strict: true, allowPositionals: true });
    return { options: values as ParsedArgs['options'], positionals };
  } catch (err) {
    throw new UsageError(`${usageMessage(err as Error & { code?: string })} for ${where} (see --help)`);
  }
}

/** node's parseArgs messages, shortened to what the user typed wrong. */
function usageMessage(err: Error & { code?: string }): string {
  const option = /'(-[^' ]+)/.exec(err.message)?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': return `unknown option ${option ?? err.message}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing|requires? an? argument/i.test(err.message) || /<value>' argument missing/.test(err.message)
        ? `option ${option ?? ''} needs a value` : `option ${option ?? ''}: ${err.message}`;
    default: return err.message;
  }
}

/** A string option, or undefined. */
export function str(args: ParsedArgs, name: string): string | undefined {
  const v = args.options[name];
  return typeof v === 'string' ? v : undefined;
}

/** An integer option within [min, max], or `fallback`. */
export function int(args: ParsedArgs, name: string, fallback: number | undefined, min: number, max: number): number | undefined {
  const v = str(args, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer between ${min} and ${max} (got "${v}")`);
  return n;
}

/** A duration option ('500ms', '15s', '5m'), validated; returns the text as given. */
export function duration(args: ParsedArgs, name: string): string | undefined {
  const v = str(args, name);
  if (v === undefined) return undefined;
  try {
    toMs(v, `--${name}`);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return v;
}

/** A JSON option, parsed; undefined when absent. */
export function json(args: ParsedArgs, name: string): unknown {
  const v = str(args, name);
  if (v === undefined) return undefined;
  return parseJson(v, `--${name}`);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * A JSON option that may also come from a file (`@path.json`) or stdin (`-`): no size limit
 * but the store's payload limit, so inputs too long for a command line can be sent.
 */
export async function jsonInput(args: ParsedArgs, name: string, readStdin: () => Promise<string>): Promise<unknown> {
  const v = str(args, name);
  if (v === undefined) return undefined;
  if (v === '-') return parseJson(await readStdin(), `--${name} - (stdin)`);
  if (v.startsWith('@')) {
    const file = v.slice(1);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new UsageError(`--${name} ${v}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    return parseJson(text, `--${name} ${v}`);
  }
  return parseJson(v, `--${name}`);
}

/** Exactly the positionals named in `names` (usage error otherwise). */
export function positionals(args: ParsedArgs, names: string[], where: string): string[] {
  if (args.positionals.length < names.length) throw new UsageError(`${where} needs ${names.map((n) => `<${n}>`).join(' ')} (see --help)`);
  if (args.positionals.length > names.length) throw new UsageError(`${where}: unexpected argument "${args.positionals[names.length]}" (see --help)`);
  return args.positionals;
}

/** Help text of a command: usage line, description, options. */
export function helpText(usage: string, description: string, spec: OptionSpec): string {
  const rows = Object.entries({ ...spec, ...GLOBAL_OPTIONS }).map(([name, d]) => {
    const flag = `${d.short ? `-${d.short}, ` : '    '}--${name}${d.arg ? ` ${d.arg}` : ''}`;
    return [flag, d.description];
  });
  const width = Math.max(...rows.map(([f]) => f.length));
  return `usage: ${usage}\n\n${description}\n\noptions:\n${rows.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`).join('\n')}\n`;
}
