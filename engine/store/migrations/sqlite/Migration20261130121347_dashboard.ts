import { Migration } from '@mikro-orm/migrations';

export class Migration20261130121347_dashboard extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`workflow_executions\` add column \`trace_context\` text null;`);
    this.addSql(`create index \`workflow_executions_status_created_idx\` on \`workflow_executions\` (\`status\`, \`created_at\`);`);
    this.addSql(`create index \`workflow_executions_status_template_idx\` on \`workflow_executions\` (\`status\`, \`template_key\`);`);
  }

}
