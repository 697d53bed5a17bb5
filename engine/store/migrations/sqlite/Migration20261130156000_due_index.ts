import { Migration } from '@mikro-orm/migrations';

/** Issue 16: the claim's (available_at, id) order without a sort (see the MySQL twin). */
export class Migration20261130156000_due_index extends Migration {

  override async up(): Promise<void> {
    this.addSql('create index `workflow_executions_due_idx` on `workflow_executions` (`available_at`);');
  }

}
