/**
 * `npm run test:props -- --runs 5000 [--seed N] [--sqlite-only]`: the property test of random
 * workflow programs in its long mode (test/props/programs.test.ts; CI runs a short pass).
 */
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const value = (flag: string): string | undefined => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};
const env: Record<string, string | undefined> = { ...process.env, LEASEFLOW_PROP_RUNS: value('--runs') ?? '500' };
if (value('--seed') !== undefined) env.LEASEFLOW_PROP_SEED = value('--seed');
if (args.includes('--sqlite-only')) env.LEASEFLOW_TEST_MYSQL_STATE = 'off';
const res = spawnSync('node_modules/.bin/jest', ['test/props/programs.test.ts', '--testTimeout', String(24 * 3600_000), '--forceExit'], { stdio: 'inherit', env });
process.exitCode = res.status ?? 1;
