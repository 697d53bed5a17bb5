import { Migration } from '@mikro-orm/migrations';

/** Code versions (issue 12): the build that started / last ran an execution, and the builds a runner serves. */
export class Migration20261130150000_versioning extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`workflow_executions\` add column \`start_build\` text null;`);
    this.addSql(`alter table \`workflow_executions\` add column \`last_build\` text null;`);
    this.addSql(`alter table \`workflow_executions\` add column \`last_version\` integer null;`);
    this.addSql(`create index \`workflow_executions_build_idx\` on \`workflow_executions\` (\`last_build\`, \`status\`);`);
    this.addSql(`alter table \`workflow_runners\` add column \`builds\` text null;`);
  }

}
