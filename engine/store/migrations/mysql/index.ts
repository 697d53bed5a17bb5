/** MySQL/MariaDB migrations, in order. Append-only: never edit a landed migration. */
import { Migration20261124121131_initial } from './Migration20261124121131_initial';
import { Migration20261130112338_run_ids } from './Migration20261130112338_run_ids';

export const mysqlMigrations = [
  { name: 'Migration20261124121131_initial', class: Migration20261124121131_initial },
  { name: 'Migration20261130112338_run_ids', class: Migration20261130112338_run_ids },
];
