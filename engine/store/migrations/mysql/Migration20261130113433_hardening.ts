import { Migration } from '@mikro-orm/migrations';

export class Migration20261130113433_hardening extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`workflow_executions\` add \`template_seq\` bigint null;`);
    this.addSql(`alter table \`workflow_executions\` modify \`wait_for\` varchar(2048);`);

    this.addSql(`alter table \`workflow_templates\` add \`next_seq\` bigint not null default 0;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table \`workflow_executions\` drop column \`template_seq\`;`);

    this.addSql(`alter table \`workflow_executions\` modify \`wait_for\` varchar(512);`);

    this.addSql(`alter table \`workflow_templates\` drop column \`next_seq\`;`);
  }

}
