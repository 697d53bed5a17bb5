import { Migration } from '@mikro-orm/migrations';

export class Migration20261130112404_schedules extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`workflow_schedules\` (\`id\` text not null, \`workflow_name\` text not null, \`workflow_version\` integer not null default 1, \`template_key\` text null, \`template_limit\` integer null, \`input\` text null, \`cron\` text null, \`every_ms\` integer null, \`timezone\` text null, \`overlap\` text not null, \`catchup_window_ms\` integer not null, \`jitter_ms\` integer not null default 0, \`paused\` integer not null default false, \`next_fire_at\` datetime null, \`due_at\` datetime null, \`buffered\` text null, \`last_execution_id\` text null, \`last_fire_at\` datetime null, \`fired_count\` integer not null default 0, \`skipped_count\` integer not null default 0, \`missed_count\` integer not null default 0, \`created_at\` datetime not null, \`updated_at\` datetime not null, primary key (\`id\`));`);
    this.addSql(`create index \`workflow_schedules_due_idx\` on \`workflow_schedules\` (\`due_at\`);`);
  }

}
