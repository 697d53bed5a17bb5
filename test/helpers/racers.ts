/**
 * Concurrent starters for flow-control tests: `n` start calls spread over `clients` clients,
 * each on its own database handle (its own pool), all fired at once.
 */
import { createClient, openDatabase, type WorkflowDefinition, type WorkflowHandle } from '../../engine';

/** Start `def` `n` times at once over `clients` separate handles; `input(i)` gives each call's input. */
export async function raceStarts<I>(url: string, def: WorkflowDefinition<I, unknown>, n: number, input: (i: number) => I, clients = 4): Promise<WorkflowHandle<unknown>[]> {
  const handles = await Promise.all(Array.from({ length: clients }, () => openDatabase(url)));
  try {
    const cs = await Promise.all(handles.map((db) => createClient({ db })));
    try {
      return await Promise.all(Array.from({ length: n }, (_, i) => cs[i % clients].start(def, input(i))));
    } finally {
      await Promise.all(cs.map((c) => c.close()));
    }
  } finally {
    await Promise.all(handles.map((h) => h.close()));
  }
}
