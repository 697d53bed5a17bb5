import { Migration } from '@mikro-orm/migrations';

export class Migration20261130112338_run_ids extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`workflow_executions\` add column \`run_id\` text null;`);
    this.addSql(`alter table \`workflow_executions\` add column \`first_run_id\` text null;`);
    this.addSql(`alter table \`workflow_executions\` add column \`continued_from\` text null;`);
    this.addSql(`alter table \`workflow_executions\` add column \`run_number\` integer not null default 1;`);
    // Rows from before run ids each get one (unique), and start their own chain.
    this.addSql(`update \`workflow_executions\` set \`run_id\` = lower(hex(randomblob(16))) where \`run_id\` is null;`);
    this.addSql(`update \`workflow_executions\` set \`first_run_id\` = \`run_id\` where \`first_run_id\` is null;`);
    this.addSql(`create unique index \`workflow_executions_run_id_unique\` on \`workflow_executions\` (\`run_id\`);`);
    this.addSql(`create index \`workflow_executions_first_run_idx\` on \`workflow_executions\` (\`first_run_id\`);`);
  }

}
