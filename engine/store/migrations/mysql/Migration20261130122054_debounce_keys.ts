import { Migration } from '@mikro-orm/migrations';

export class Migration20261130122054_debounce_keys extends Migration {

  override async up(): Promise<void> {
    // NO PAD binary collation: utf8mb4_nopad_bin on MariaDB, utf8mb4_0900_bin on MySQL 8 (config.ts).
    const collate = String(this.config.get('collate') ?? 'utf8mb4_bin');
    if (!/^[a-z0-9_]+$/.test(collate)) throw new Error(`unexpected collation ${collate}`);
    this.addSql(`create table \`workflow_debounce_keys\` (\`workflow_name\` varchar(255) not null, \`debounce_key\` varchar(255) not null, \`execution_id\` varchar(200) not null, \`updated_at\` datetime(6) not null, primary key (\`workflow_name\`, \`debounce_key\`)) default character set utf8mb4 collate ${collate} engine = InnoDB;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`workflow_debounce_keys\`;`);
  }

}
