import { Migration } from '@mikro-orm/migrations';

export class Migration20261130112404_schedules extends Migration {

  override async up(): Promise<void> {
    // NO PAD binary collation: utf8mb4_nopad_bin on MariaDB, utf8mb4_0900_bin on MySQL 8 (config.ts).
    const collate = String(this.config.get('collate') ?? 'utf8mb4_bin');
    if (!/^[a-z0-9_]+$/.test(collate)) throw new Error(`unexpected collation ${collate}`);
    this.addSql(`create table \`workflow_schedules\` (\`id\` varchar(150) not null, \`workflow_name\` varchar(255) not null, \`workflow_version\` int not null default 1, \`template_key\` varchar(255) null, \`template_limit\` int null, \`input\` mediumtext null, \`cron\` varchar(255) null, \`every_ms\` bigint null, \`timezone\` varchar(64) null, \`overlap\` varchar(16) not null, \`catchup_window_ms\` bigint not null, \`jitter_ms\` bigint not null default 0, \`paused\` tinyint(1) not null default false, \`next_fire_at\` datetime(6) null, \`due_at\` datetime(6) null, \`buffered\` text null, \`last_execution_id\` varchar(200) null, \`last_fire_at\` datetime(6) null, \`fired_count\` bigint not null default 0, \`skipped_count\` bigint not null default 0, \`missed_count\` bigint not null default 0, \`created_at\` datetime(6) not null, \`updated_at\` datetime(6) not null, primary key (\`id\`)) default character set utf8mb4 collate ${collate} engine = InnoDB;`);
    this.addSql(`alter table \`workflow_schedules\` add index \`workflow_schedules_due_idx\`(\`due_at\`);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`workflow_schedules\`;`);
  }

}
