import { Migration } from '@mikro-orm/migrations';

export class Migration20261130113434_hardening extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`workflow_executions\` add column \`template_seq\` integer null;`);

    this.addSql(`alter table \`workflow_templates\` add column \`next_seq\` integer not null default 0;`);
  }

}
