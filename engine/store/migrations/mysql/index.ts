/** MySQL/MariaDB migrations, in order. Append-only: never edit a landed migration. */
import { Migration20261124121131_initial } from './Migration20261124121131_initial';

export const mysqlMigrations = [
  { name: 'Migration20261124121131_initial', class: Migration20261124121131_initial },
];
