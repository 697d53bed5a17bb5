import { Migration } from '@mikro-orm/migrations';

/** Code versions (issue 12): the build that started / last ran an execution, and the builds a runner serves. */
export class Migration20261130150000_versioning extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`workflow_executions\` add \`start_build\` varchar(128) null, add \`last_build\` varchar(128) null, add \`last_version\` int null;`);
    this.addSql(`alter table \`workflow_executions\` add index \`workflow_executions_build_idx\`(\`last_build\`, \`status\`);`);
    this.addSql(`alter table \`workflow_runners\` add \`builds\` text null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table \`workflow_executions\` drop index \`workflow_executions_build_idx\`;`);
    this.addSql(`alter table \`workflow_executions\` drop column \`start_build\`, drop column \`last_build\`, drop column \`last_version\`;`);
    this.addSql(`alter table \`workflow_runners\` drop column \`builds\`;`);
  }

}
