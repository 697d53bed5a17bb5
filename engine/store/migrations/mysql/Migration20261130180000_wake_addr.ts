import { Migration } from '@mikro-orm/migrations';

/** workflow_runners.wake_addr: where a runner's doorbell listens (engine/wake), or null. */
export class Migration20261130180000_wake_addr extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`workflow_runners\` add \`wake_addr\` varchar(100) null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table \`workflow_runners\` drop column \`wake_addr\`;`);
  }

}
