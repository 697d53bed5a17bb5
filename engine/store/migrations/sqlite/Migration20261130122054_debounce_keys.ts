import { Migration } from '@mikro-orm/migrations';

export class Migration20261130122054_debounce_keys extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`workflow_debounce_keys\` (\`workflow_name\` text not null, \`debounce_key\` text not null, \`execution_id\` text not null, \`updated_at\` datetime not null, primary key (\`workflow_name\`, \`debounce_key\`));`);
  }

}
