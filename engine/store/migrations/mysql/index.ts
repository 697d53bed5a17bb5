/**
 * MySQL/MariaDB migrations, in order. Append-only: never edit a landed migration. Each entry
 * loads its module lazily (see ../lazy.ts): add new ones as `lazyMigration(name, () => require(…))`.
 */
import { lazyMigration } from '../lazy';

export const mysqlMigrations = [
  lazyMigration('Migration20261124121131_initial', () => require('./Migration20261124121131_initial')),
  lazyMigration('Migration20261130112336_eventDoneOrder', () => require('./Migration20261130112336_eventDoneOrder')),
  lazyMigration('Migration20261130112338_run_ids', () => require('./Migration20261130112338_run_ids')),
  lazyMigration('Migration20261130112404_schedules', () => require('./Migration20261130112404_schedules')),
  lazyMigration('Migration20261130120732_dedup_keys', () => require('./Migration20261130120732_dedup_keys')),
  lazyMigration('Migration20261130122054_debounce_keys', () => require('./Migration20261130122054_debounce_keys')),
  lazyMigration('Migration20261130113433_hardening', () => require('./Migration20261130113433_hardening')),
  lazyMigration('Migration20261130121346_dashboard', () => require('./Migration20261130121346_dashboard')),
  lazyMigration('Migration20261130150000_versioning', () => require('./Migration20261130150000_versioning')),
  lazyMigration('Migration20261130153000_namespaces', () => require('./Migration20261130153000_namespaces')),
  lazyMigration('Migration20261130151000_flow_control', () => require('./Migration20261130151000_flow_control')),
  lazyMigration('Migration20261130154000_fence_seq', () => require('./Migration20261130154000_fence_seq')),
  lazyMigration('Migration20261130180000_wake_addr', () => require('./Migration20261130180000_wake_addr')),
];
