/**
 * A small argv parser for the `leaseflow` command line (no dependency): long options
 * (`--name value`, `--name=value`), boolean flags, `-h`, `--` and positionals. Unknown options,
 * missing values and malformed numbers/JSON/durations are `UsageError`s (exit code 2).
 */
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
  help: { type: 'boolean', short: 'h', description: 'show help' },
};

/** Parse `argv` against `spec` (plus the global options). */
export function parseArgs(argv: readonly string[], spec: OptionSpec, where: string): ParsedArgs {
  const all: OptionSpec = { ...GLOBAL_OPTIONS, ...spec };
  const shorts = new Map(Object.entries(all).filter(([, d]) => d.short).map(([name, d]) => [d.short as string, name]));
  const options: ParsedArgs['options'] = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--') { positionals.push(...argv.slice(i + 1)); break; }
    let name: string | undefined;
    let inline: string | undefined;
    if (token.startsWith('--') && token.length > 2) {
      const eq = token.indexOf('=');
      name = eq === -1 ? token.slice(2) : token.slice(2, eq);
      inline = eq === -1 ? undefined : token.slice(eq + 1);
    } else if (/^-[A-Za-z]$/.test(token)) {
      name = shorts.get(token.slice(1));
      if (!name) throw new UsageError(`unknown option ${token} for ${where} (see --help)`);
    } else {
      positionals.push(token);
      continue;
    }
    const def = Object.prototype.hasOwnProperty.call(all, name) ? all[name] : undefined;
    if (!def) throw new UsageError(`unknown option --${name} for ${where} (see --help)`);
    if (def.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`option --${name} takes no value`);
      options[name] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) throw new UsageError(`option --${name} needs a value${def.arg ? ` (${def.arg})` : ''}`);
    options[name] = value;
  }
  return { options, positionals };
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
  try {
    return JSON.parse(v) as unknown;
  } catch (err) {
    throw new UsageError(`--${name} is not valid JSON: ${(err as Error).message}`);
  }
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
