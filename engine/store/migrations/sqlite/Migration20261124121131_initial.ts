import { Migration } from '@mikro-orm/migrations';

export class Migration20261124121131_initial extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`distributed_locks\` (\`id\` integer not null primary key autoincrement, \`lock_key\` text not null, \`owner\` text not null, \`token\` integer not null default 0, \`hold_count\` integer not null default 1, \`expires_at\` datetime not null, \`created_at\` datetime not null, \`updated_at\` datetime not null);`);
    this.addSql(`create unique index \`distributed_locks_lock_key_unique\` on \`distributed_locks\` (\`lock_key\`);`);
    this.addSql(`create index \`distributed_locks_owner_idx\` on \`distributed_locks\` (\`owner\`);`);
    this.addSql(`create index \`distributed_locks_expires_at_idx\` on \`distributed_locks\` (\`expires_at\`);`);

    this.addSql(`create table \`workflow_events\` (\`execution_id\` text not null, \`seq\` integer not null, \`kind\` text not null, \`name\` text not null, \`status\` text not null, \`payload\` text null, \`attempt\` integer not null default 1, \`lease_token\` integer not null default 0, \`created_at\` datetime not null, primary key (\`execution_id\`, \`seq\`));`);

    this.addSql(`create table \`workflow_executions\` (\`id\` text not null, \`workflow_name\` text not null, \`workflow_version\` integer not null default 1, \`template_key\` text null, \`template_limit\` integer null, \`admitted\` integer not null default false, \`status\` text not null, \`input\` text null, \`output\` text null, \`error\` text null, \`custom_status\` text null, \`wait_for\` text null, \`available_at\` datetime null, \`lease_token\` integer not null default 0, \`runner_id\` text null, \`next_seq\` integer not null default 0, \`step_attempt\` integer not null default 0, \`attempt\` integer not null default 0, \`parent_id\` text null, \`parent_seq\` integer null, \`cancel_reason\` text null, \`created_at\` datetime not null, \`updated_at\` datetime not null, \`started_at\` datetime null, \`finished_at\` datetime null, primary key (\`id\`));`);
    this.addSql(`create index \`workflow_executions_claim_idx\` on \`workflow_executions\` (\`status\`, \`available_at\`);`);
    this.addSql(`create index \`workflow_executions_parent_idx\` on \`workflow_executions\` (\`parent_id\`);`);
    this.addSql(`create index \`workflow_executions_template_idx\` on \`workflow_executions\` (\`template_key\`, \`status\`);`);
    this.addSql(`create index \`workflow_executions_list_idx\` on \`workflow_executions\` (\`workflow_name\`, \`status\`, \`created_at\`);`);
    this.addSql(`create index \`workflow_executions_created_idx\` on \`workflow_executions\` (\`created_at\`);`);

    this.addSql(`create table \`workflow_runners\` (\`id\` text not null, \`hostname\` text not null, \`pid\` integer not null, \`workflows\` text not null, \`concurrency\` integer not null, \`status\` text not null, \`started_at\` datetime not null, \`heartbeat_at\` datetime not null, \`stopped_at\` datetime null, primary key (\`id\`));`);
    this.addSql(`create index \`workflow_runners_heartbeat_idx\` on \`workflow_runners\` (\`status\`, \`heartbeat_at\`);`);

    this.addSql(`create table \`workflow_signals\` (\`id\` integer not null primary key autoincrement, \`execution_id\` text not null, \`name\` text not null, \`payload\` text null, \`consumed_seq\` integer null, \`created_at\` datetime not null);`);
    this.addSql(`create index \`workflow_signals_inbox_idx\` on \`workflow_signals\` (\`execution_id\`, \`name\`, \`consumed_seq\`);`);

    this.addSql(`create table \`workflow_templates\` (\`template_key\` text not null, \`created_at\` datetime not null, primary key (\`template_key\`));`);
  }

}
