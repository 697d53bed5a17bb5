/** SQLite migrations, in order. Append-only: never edit a landed migration. */
import { Migration20261124121131_initial } from './Migration20261124121131_initial';
import { Migration20261130121347_dashboard } from './Migration20261130121347_dashboard';

export const sqliteMigrations = [
  { name: 'Migration20261124121131_initial', class: Migration20261124121131_initial },
  { name: 'Migration20261130121347_dashboard', class: Migration20261130121347_dashboard },
];
