/** MySQL/MariaDB migrations, in order. Append-only: never edit a landed migration. */
import { Migration20261124121131_initial } from './Migration20261124121131_initial';
import { Migration20261130112404_schedules } from './Migration20261130112404_schedules';
import { Migration20261130120732_dedup_keys } from './Migration20261130120732_dedup_keys';
import { Migration20261130122054_debounce_keys } from './Migration20261130122054_debounce_keys';

export const mysqlMigrations = [
  { name: 'Migration20261124121131_initial', class: Migration20261124121131_initial },
  { name: 'Migration20261130112404_schedules', class: Migration20261130112404_schedules },
  { name: 'Migration20261130120732_dedup_keys', class: Migration20261130120732_dedup_keys },
  { name: 'Migration20261130122054_debounce_keys', class: Migration20261130122054_debounce_keys },
];
