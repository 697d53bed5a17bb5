import { Migration } from '@mikro-orm/migrations';

export class Migration20261130153000_namespaces extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`workflow_executions\` add column \`namespace\` text not null default 'default';`);
    this.addSql(`create index \`workflow_executions_ns_claim_idx\` on \`workflow_executions\` (\`namespace\`, \`status\`, \`available_at\`);`);
  }

}
