/**
 * Migration list entries whose module is required on first use of `class` (by the migrator
 * only). Every migration extends @mikro-orm/migrations' `Migration`, and loading that package
 * costs about half a second: a CLI read that only checks the names must not pay it.
 */
import type { MigrationObject } from '@mikro-orm/core';

/** `{ name, class }` for MikroORM's `migrationsList`, the class loaded from `load()[name]` when first read. */
export function lazyMigration(name: string, load: () => Record<string, unknown>): MigrationObject {
  let loaded: MigrationObject['class'] | undefined;
  return {
    name,
    get class() {
      loaded ??= load()[name] as MigrationObject['class'];
      return loaded;
    },
  };
}
