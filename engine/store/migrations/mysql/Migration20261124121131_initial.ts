import { Migration } from '@mikro-orm/migrations';

export class Migration20261124121131_initial extends Migration {

  override async up(): Promise<void> {
    // NO PAD binary collation: utf8mb4_nopad_bin on MariaDB, utf8mb4_0900_bin on MySQL 8 (config.ts).
    const collate = String(this.config.get('collate') ?? 'utf8mb4_bin');
    if (!/^[a-z0-9_]+$/.test(collate)) throw new Error(`unexpected collation ${collate}`);
    this.addSql(`create table \`distributed_locks\` (\`id\` bigint unsigned not null auto_increment primary key, \`lock_key\` varchar(255) not null, \`owner\` varchar(255) not null, \`token\` bigint not null default 0, \`hold_count\` int not null default 1, \`expires_at\` datetime(6) not null, \`created_at\` datetime(6) not null, \`updated_at\` datetime(6) not null) default character set utf8mb4 collate ${collate} engine = InnoDB;`);
    this.addSql(`alter table \`distributed_locks\` add unique \`distributed_locks_lock_key_unique\`(\`lock_key\`);`);
    this.addSql(`alter table \`distributed_locks\` add index \`distributed_locks_owner_idx\`(\`owner\`);`);
    this.addSql(`alter table \`distributed_locks\` add index \`distributed_locks_expires_at_idx\`(\`expires_at\`);`);

    this.addSql(`create table \`workflow_events\` (\`execution_id\` varchar(200) not null, \`seq\` int unsigned not null, \`kind\` varchar(16) not null, \`name\` varchar(255) not null, \`status\` varchar(16) not null, \`payload\` mediumtext null, \`attempt\` int not null default 1, \`lease_token\` bigint not null default 0, \`created_at\` datetime(6) not null, primary key (\`execution_id\`, \`seq\`)) default character set utf8mb4 collate ${collate} engine = InnoDB;`);

    this.addSql(`create table \`workflow_executions\` (\`id\` varchar(200) not null, \`workflow_name\` varchar(255) not null, \`workflow_version\` int not null default 1, \`template_key\` varchar(255) null, \`template_limit\` int null, \`admitted\` tinyint(1) not null default false, \`status\` varchar(16) not null, \`input\` mediumtext null, \`output\` mediumtext null, \`error\` mediumtext null, \`custom_status\` mediumtext null, \`wait_for\` varchar(512) null, \`available_at\` datetime(6) null, \`lease_token\` bigint not null default 0, \`runner_id\` varchar(255) null, \`next_seq\` int not null default 0, \`step_attempt\` int not null default 0, \`attempt\` int not null default 0, \`parent_id\` varchar(200) null, \`parent_seq\` int null, \`cancel_reason\` varchar(1024) null, \`created_at\` datetime(6) not null, \`updated_at\` datetime(6) not null, \`started_at\` datetime(6) null, \`finished_at\` datetime(6) null, primary key (\`id\`)) default character set utf8mb4 collate ${collate} engine = InnoDB;`);
    this.addSql(`alter table \`workflow_executions\` add index \`workflow_executions_claim_idx\`(\`status\`, \`available_at\`);`);
    this.addSql(`alter table \`workflow_executions\` add index \`workflow_executions_parent_idx\`(\`parent_id\`);`);
    this.addSql(`alter table \`workflow_executions\` add index \`workflow_executions_template_idx\`(\`template_key\`, \`status\`);`);
    this.addSql(`alter table \`workflow_executions\` add index \`workflow_executions_list_idx\`(\`workflow_name\`, \`status\`, \`created_at\`);`);
    this.addSql(`alter table \`workflow_executions\` add index \`workflow_executions_created_idx\`(\`created_at\`);`);

    this.addSql(`create table \`workflow_runners\` (\`id\` varchar(255) not null, \`hostname\` varchar(255) not null, \`pid\` int not null, \`workflows\` text not null, \`concurrency\` int not null, \`status\` varchar(16) not null, \`started_at\` datetime(6) not null, \`heartbeat_at\` datetime(6) not null, \`stopped_at\` datetime(6) null, primary key (\`id\`)) default character set utf8mb4 collate ${collate} engine = InnoDB;`);
    this.addSql(`alter table \`workflow_runners\` add index \`workflow_runners_heartbeat_idx\`(\`status\`, \`heartbeat_at\`);`);

    this.addSql(`create table \`workflow_signals\` (\`id\` bigint unsigned not null auto_increment primary key, \`execution_id\` varchar(200) not null, \`name\` varchar(255) not null, \`payload\` mediumtext null, \`consumed_seq\` int null, \`created_at\` datetime(6) not null) default character set utf8mb4 collate ${collate} engine = InnoDB;`);
    this.addSql(`alter table \`workflow_signals\` add index \`workflow_signals_inbox_idx\`(\`execution_id\`, \`name\`, \`consumed_seq\`);`);

    this.addSql(`create table \`workflow_templates\` (\`template_key\` varchar(255) not null, \`created_at\` datetime(6) not null, primary key (\`template_key\`)) default character set utf8mb4 collate ${collate} engine = InnoDB;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`distributed_locks\`;`);

    this.addSql(`drop table if exists \`workflow_events\`;`);

    this.addSql(`drop table if exists \`workflow_executions\`;`);

    this.addSql(`drop table if exists \`workflow_runners\`;`);

    this.addSql(`drop table if exists \`workflow_signals\`;`);

    this.addSql(`drop table if exists \`workflow_templates\`;`);
  }

}
