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
// Without --seed the long mode explores a fresh seed each run (CI's short pass uses a fixed one).
env.LEASEFLOW_PROP_SEED = value('--seed') ?? String(Math.floor(Math.random() * 2 ** 31));
process.stdout.write(`property test seed ${env.LEASEFLOW_PROP_SEED} (replay: npm run test:props -- --runs ${env.LEASEFLOW_PROP_RUNS} --seed ${env.LEASEFLOW_PROP_SEED})\n`);
if (args.includes('--sqlite-only')) env.LEASEFLOW_TEST_MYSQL = 'off';
const res = spawnSync('node_modules/.bin/jest', ['test/props/programs.test.ts', '--testTimeout', String(24 * 3600_000), '--forceExit'], { stdio: 'inherit', env });
process.exitCode = res.status ?? 1;
