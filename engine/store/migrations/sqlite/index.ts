/** SQLite migrations, in order. Append-only: never edit a landed migration. */
import { Migration20261124121131_initial } from './Migration20261124121131_initial';
import { Migration20261130113434_hardening } from './Migration20261130113434_hardening';

export const sqliteMigrations = [
  { name: 'Migration20261124121131_initial', class: Migration20261124121131_initial },
  { name: 'Migration20261130113434_hardening', class: Migration20261130113434_hardening },
];
