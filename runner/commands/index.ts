/**
 * The command registry: every `leaseflow` command, in the order `--help` lists them. A new
 * command is one file in this folder exporting a `Command`, plus one line here.
 */
import type { Command } from './command';
import { devCommand } from './dev';
import { runnerCommand } from './runner';
import { migrateCommand } from './migrate';
import { startCommand } from './start';
import { resultCommand } from './result';
import { listCommand } from './list';
import { showCommand } from './show';
import { cancelCommand, signalCommand } from './signal';
import { terminateCommand } from './terminate';
import { resumeCommand } from './resume';
import { replayCommand } from './replay';
import { locksCommand } from './locks';
import { runnersCommand } from './runners';
import { scheduleCommand } from './schedule';
import { dashboardCommand } from './dashboard';

/** Every command. */
export const COMMANDS: readonly Command[] = [
  devCommand, runnerCommand, migrateCommand, startCommand, resultCommand, listCommand, showCommand, signalCommand, cancelCommand,
  terminateCommand, resumeCommand, replayCommand, locksCommand, runnersCommand, scheduleCommand, dashboardCommand,
];

/** The command called `name` (or with that alias). */
export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name || c.aliases?.includes(name));
}
