import { Migration } from '@mikro-orm/migrations';

export class Migration20261130112338_run_ids extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`workflow_executions\` add \`run_id\` varchar(40) null, add \`first_run_id\` varchar(40) null, add \`continued_from\` varchar(40) null, add \`run_number\` int not null default 1;`);
    // Rows from before run ids each get one (unique), and start their own chain.
    this.addSql(`update \`workflow_executions\` set \`run_id\` = uuid() where \`run_id\` is null;`);
    this.addSql(`update \`workflow_executions\` set \`first_run_id\` = \`run_id\` where \`first_run_id\` is null;`);
    this.addSql(`alter table \`workflow_executions\` add unique \`workflow_executions_run_id_unique\`(\`run_id\`);`);
    this.addSql(`alter table \`workflow_executions\` add index \`workflow_executions_first_run_idx\`(\`first_run_id\`);`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table \`workflow_executions\` drop index \`workflow_executions_run_id_unique\`;`);
    this.addSql(`alter table \`workflow_executions\` drop index \`workflow_executions_first_run_idx\`;`);
    this.addSql(`alter table \`workflow_executions\` drop column \`run_id\`, drop column \`first_run_id\`, drop column \`continued_from\`, drop column \`run_number\`;`);
  }

}
