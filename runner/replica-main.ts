/**
 * Entry of a forked runner replica: `runRunnerProcess` plus one rule for children — when the
 * parent goes away (its IPC channel closes, even after a kill -9), shut down gracefully
 * instead of living on as an orphan. The channel is closed afterwards so the process can exit.
 */
import { runRunnerProcess } from './main';

const onParentGone = () => process.kill(process.pid, 'SIGTERM');
process.on('disconnect', onParentGone);

runRunnerProcess()
  .catch((err: Error) => {
    process.stderr.write(`leaseflow runner: ${err.message}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    process.off('disconnect', onParentGone);
    if (process.connected) process.disconnect();
    setTimeout(() => process.exit(), 200).unref();
  });
