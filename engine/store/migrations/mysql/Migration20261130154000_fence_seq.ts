import { Migration } from '@mikro-orm/migrations';

/** workflow_executions.fence_seq: the counter every fenced checkpoint bumps (store/fence.ts). */
export class Migration20261130154000_fence_seq extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`workflow_executions\` add \`fence_seq\` bigint not null default 0;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table \`workflow_executions\` drop column \`fence_seq\`;`);
  }

}
