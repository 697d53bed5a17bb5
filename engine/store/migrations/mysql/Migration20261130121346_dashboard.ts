import { Migration } from '@mikro-orm/migrations';

export class Migration20261130121346_dashboard extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`workflow_executions\` add \`trace_context\` varchar(600) null;`);
    this.addSql(`alter table \`workflow_executions\` add index \`workflow_executions_status_created_idx\`(\`status\`, \`created_at\`);`);
    this.addSql(`alter table \`workflow_executions\` add index \`workflow_executions_status_template_idx\`(\`status\`, \`template_key\`);`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table \`workflow_executions\` drop index \`workflow_executions_status_created_idx\`;`);
    this.addSql(`alter table \`workflow_executions\` drop index \`workflow_executions_status_template_idx\`;`);
    this.addSql(`alter table \`workflow_executions\` drop column \`trace_context\`;`);
  }

}
