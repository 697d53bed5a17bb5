import { Migration } from '@mikro-orm/migrations';

export class Migration20261130112336_eventDoneOrder extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`workflow_events\` add \`done_order\` int null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table \`workflow_events\` drop column \`done_order\`;`);
  }

}
