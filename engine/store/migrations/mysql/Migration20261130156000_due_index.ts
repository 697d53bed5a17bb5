import { Migration } from '@mikro-orm/migrations';

/**
 * Issue 16: an index on available_at alone, so the claim (ORDER BY available_at, id LIMIT n
 * FOR UPDATE SKIP LOCKED) reads due rows in order and stops at its limit. Without it the plan
 * was a filesort over every due row, and InnoDB locked ALL of them: with 10,000 queued a
 * claim took ~50-70 ms and a concurrent claimer skipped everything and found nothing.
 */
export class Migration20261130156000_due_index extends Migration {

  override async up(): Promise<void> {
    this.addSql('alter table `workflow_executions` add index `workflow_executions_due_idx`(`available_at`);');
  }

  override async down(): Promise<void> {
    this.addSql('alter table `workflow_executions` drop index `workflow_executions_due_idx`;');
  }

}
