import { Migration } from '@mikro-orm/migrations';

export class Migration20261130153000_namespaces extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`workflow_executions\` add \`namespace\` varchar(64) not null default 'default';`);
    this.addSql(`alter table \`workflow_executions\` add index \`workflow_executions_ns_claim_idx\`(\`namespace\`, \`status\`, \`available_at\`);`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table \`workflow_executions\` drop index \`workflow_executions_ns_claim_idx\`;`);
    this.addSql(`alter table \`workflow_executions\` drop column \`namespace\`;`);
  }

}
