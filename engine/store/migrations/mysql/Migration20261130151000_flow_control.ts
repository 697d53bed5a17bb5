import { Migration } from '@mikro-orm/migrations';

/** Issue 13: start priorities, rate-limit keys and rows, and the O(1) admission index. */
export class Migration20261130151000_flow_control extends Migration {

  override async up(): Promise<void> {
    // NO PAD binary collation: utf8mb4_nopad_bin on MariaDB, utf8mb4_0900_bin on MySQL 8 (config.ts).
    const collate = String(this.config.get('collate') ?? 'utf8mb4_bin');
    if (!/^[a-z0-9_]+$/.test(collate)) throw new Error(`unexpected collation ${collate}`);
    this.addSql(`create table \`workflow_rate_limits\` (\`workflow_name\` varchar(255) not null, \`rate_key\` varchar(255) not null, \`next_at\` datetime(6) not null, \`hint_at\` datetime(6) not null, \`updated_at\` datetime(6) not null, primary key (\`workflow_name\`, \`rate_key\`)) default character set utf8mb4 collate ${collate} engine = InnoDB;`);
    this.addSql(`alter table \`workflow_executions\` add \`priority\` int not null default 0, add \`rate_key\` varchar(255) null, add \`rate_step_us\` bigint null;`);
    this.addSql(`alter table \`workflow_executions\` add index \`workflow_executions_admission_idx\`(\`template_key\`, \`admitted\`, \`status\`, \`template_seq\`);`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table \`workflow_executions\` drop index \`workflow_executions_admission_idx\`;`);
    this.addSql(`alter table \`workflow_executions\` drop column \`priority\`, drop column \`rate_key\`, drop column \`rate_step_us\`;`);
    this.addSql(`drop table if exists \`workflow_rate_limits\`;`);
  }

}
