import { Migration } from '@mikro-orm/migrations';

export class Migration20261130112336_eventDoneOrder extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`workflow_events\` add column \`done_order\` integer null;`);
  }

}
