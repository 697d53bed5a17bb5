/**
 * Load workflow definitions from a module file or a directory of modules (.js, .mjs, .cjs, .ts,
 * .mts, .cts): every exported workflow definition (made by defineWorkflow) is served. Modules
 * load with plain `import()`; TypeScript goes through tsx's API only when the running process
 * cannot load it itself (compiled leaseflow, plain node). A module that fails to parse is an
 * error naming file:line:column; one workflow name exported by two modules is an error.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ValidationError, type WorkflowDefinition } from '../engine';

const MODULE_FILE = /\.(m|c)?(j|t)s$/;
const TS_FILE = /\.(m|c)?ts$/;

function isDefinition(v: unknown): v is WorkflowDefinition<unknown, unknown> {
  return typeof v === 'object' && v !== null && typeof (v as WorkflowDefinition).name === 'string' && typeof (v as WorkflowDefinition).fn === 'function' && typeof (v as WorkflowDefinition).version === 'number';
}

/** The module files `path` names: itself, or the modules directly inside the directory. */
export function workflowFiles(path: string): string[] {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new ValidationError(`workflows path "${path}" does not exist`, 'workflows');
  if (!statSync(abs).isDirectory()) return [abs];
  return readdirSync(abs)
    .filter((f) => MODULE_FILE.test(f) && !/\.d\.(m|c)?ts$/.test(f) && !f.includes('.test.'))
    .sort().map((f) => join(abs, f));
}

/** All workflow definitions exported by `path` (a module or a directory of modules). */
export async function loadWorkflows(path: string): Promise<WorkflowDefinition<unknown, unknown>[]> {
  const found = new Map<string, { def: WorkflowDefinition<unknown, unknown>; file: string }>();
  for (const file of workflowFiles(path)) {
    const mod = await importModule(file);
    const seen = new Set<unknown>();
    // `default` too (a CJS module imported as ESM exposes module.exports there): dedupe by identity.
    const values = [...Object.values(mod), ...Object.values(mod.default && typeof mod.default === 'object' ? mod.default as object : {})];
    for (const value of values) {
      if (!isDefinition(value) || seen.has(value)) continue;
      seen.add(value);
      const before = found.get(value.name);
      if (before && before.def !== value) {
        const where = before.file === file ? `twice in ${shown(file)}` : `by ${shown(before.file)} and ${shown(file)}`;
        throw new ValidationError(`workflow "${value.name}" is defined ${where}: workflow names must be unique`, 'workflows');
      }
      found.set(value.name, { def: value, file });
    }
  }
  if (found.size === 0) throw new ValidationError(`no workflow definitions exported from "${path}"`, 'workflows');
  for (const f of found.values()) moduleOf.set(f.def, f.file);
  return [...found.values()].map((f) => f.def);
}

/** The module file each loaded definition came from. */
const moduleOf = new WeakMap<object, string>();

/**
 * Build ids of loaded definitions: a hash of each one's module source (`src-` + 12 hex), so a
 * changed module is a new build. Definitions not loaded by loadWorkflows are left out.
 */
export function moduleBuildIds(defs: readonly WorkflowDefinition<unknown, unknown>[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const def of defs) {
    const file = moduleOf.get(def);
    if (file) out[def.name] = `src-${createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 12)}`;
  }
  return out;
}

function shown(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}

/** Import one module; a parse failure becomes an error naming file:line:column. */
async function importModule(file: string): Promise<Record<string, unknown>> {
  try {
    // An absolute path (not a file: URL) so the same line also works where import() is
    // compiled to require() (jest).
    return (await import(file)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ERR_UNKNOWN_FILE_EXTENSION' && TS_FILE.test(file)) return importTypeScript(file);
    throw explainLoadError(err, file);
  }
}

/** TypeScript in a process that cannot load it: through tsx's ESM API (an optional peer dependency). */
async function importTypeScript(file: string): Promise<Record<string, unknown>> {
  let api: { tsImport(specifier: string, parent: string): Promise<unknown> };
  try {
    api = (await import('tsx/esm/api')) as typeof api;
  } catch {
    throw new ValidationError(`workflow module ${shown(file)} is TypeScript: install tsx next to leaseflow (npm install tsx) or compile it to JavaScript`, 'workflows');
  }
  try {
    return (await api.tsImport(pathToFileURL(file).href, __filename)) as Record<string, unknown>;
  } catch (err) {
    throw explainLoadError(err, file);
  }
}

/** The error of a module that failed to load, with file:line:column when it is a syntax error. */
function explainLoadError(err: unknown, file: string): unknown {
  const e = err as Error;
  if (typeof e?.message !== 'string') return err;
  // esbuild (tsx): "Transform failed with 1 error:\n/abs/file.ts:3:7: ERROR: Expected ..." (0-based column).
  const esbuild = /^(.*?):(\d+):(\d+): ERROR: (.*)$/m.exec(e.message);
  if (esbuild) return new ValidationError(`syntax error in workflow module ${shown(esbuild[1])}:${esbuild[2]}:${Number(esbuild[3]) + 1}: ${esbuild[4]}`, 'workflows');
  if (e.name !== 'SyntaxError') return err;
  // Node's own SyntaxError of an ES module carries no position: ask `node --check` for it.
  const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 10_000 });
  const where = /^(.+):(\d+)\n(.*)\n( *)\^/m.exec(check.stderr ?? '');
  const at = where ? `${shown(where[1])}:${where[2]}:${where[4].length + 1}` : shown(file);
  return new ValidationError(`syntax error in workflow module ${at}: ${e.message}`, 'workflows');
}
