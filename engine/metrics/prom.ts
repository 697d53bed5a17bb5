/**
 * prom-client, loaded on first use: every process that imports the engine (the CLI's short
 * commands included) would otherwise pay for loading it at start.
 */
import type * as Prom from 'prom-client';

let loaded: typeof Prom | undefined;

/** The prom-client module. */
export function promClient(): typeof Prom {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require('prom-client') as typeof Prom;
  return loaded;
}
