/**
 * Load workflow definitions from a module file or a directory of modules: every exported value
 * that is a workflow definition (made by defineWorkflow) is served.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ValidationError, type WorkflowDefinition } from '../engine';

function isDefinition(v: unknown): v is WorkflowDefinition<unknown, unknown> {
  return typeof v === 'object' && v !== null && typeof (v as WorkflowDefinition).name === 'string' && typeof (v as WorkflowDefinition).fn === 'function' && typeof (v as WorkflowDefinition).version === 'number';
}

/** All workflow definitions exported by `path` (a .ts/.js module or a directory of them). */
export async function loadWorkflows(path: string): Promise<WorkflowDefinition<unknown, unknown>[]> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new ValidationError(`workflows path "${path}" does not exist`, 'workflows');
  const files = statSync(abs).isDirectory()
    ? readdirSync(abs).filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts') && !f.includes('.test.')).sort().map((f) => join(abs, f))
    : [abs];
  const found = new Map<string, WorkflowDefinition<unknown, unknown>>();
  for (const file of files) {
    const mod = (await import(file)) as Record<string, unknown>;
    for (const value of Object.values(mod)) if (isDefinition(value)) found.set(value.name, value);
  }
  if (found.size === 0) throw new ValidationError(`no workflow definitions exported from "${path}"`, 'workflows');
  return [...found.values()];
}
