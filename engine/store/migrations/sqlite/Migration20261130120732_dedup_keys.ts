import { Migration } from '@mikro-orm/migrations';

export class Migration20261130120732_dedup_keys extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`workflow_dedup_keys\` (\`workflow_name\` text not null, \`dedup_key\` text not null, \`execution_id\` text not null, \`expires_at\` datetime not null, \`created_at\` datetime not null, primary key (\`workflow_name\`, \`dedup_key\`));`);
    this.addSql(`create index \`workflow_dedup_keys_expires_idx\` on \`workflow_dedup_keys\` (\`expires_at\`);`);
  }

}
