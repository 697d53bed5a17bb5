import { Migration } from '@mikro-orm/migrations';

/** Issue 13: start priorities, rate-limit keys and rows, and the O(1) admission index. */
export class Migration20261130151000_flow_control extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`workflow_rate_limits\` (\`workflow_name\` text not null, \`rate_key\` text not null, \`next_at\` datetime not null, \`hint_at\` datetime not null, \`updated_at\` datetime not null, primary key (\`workflow_name\`, \`rate_key\`));`);
    this.addSql(`alter table \`workflow_executions\` add column \`priority\` integer not null default 0;`);
    this.addSql(`alter table \`workflow_executions\` add column \`rate_key\` text null;`);
    this.addSql(`alter table \`workflow_executions\` add column \`rate_step_us\` integer null;`);
    this.addSql(`create index \`workflow_executions_admission_idx\` on \`workflow_executions\` (\`template_key\`, \`admitted\`, \`status\`, \`template_seq\`);`);
  }

}
