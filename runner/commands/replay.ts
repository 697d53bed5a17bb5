/**
 * `leaseflow replay --check --workflows DIR [--all] [--sample N] [--json]`: the deploy gate.
 * Replays the live histories (and a sample of recently completed ones) of the store against the
 * workflow code in DIR, read-only, and exits 7 when the code cannot continue one of them.
 */
import { checkDeploy, type DeployIncompatibility, type DeployUndecodable } from '../../engine';
import { codecsFromEnv } from '../codec-env';
import { int, JSON_OPTION, positionals, str, UsageError } from '../cli-args';
import { EXIT } from '../exit-codes';
import { loadWorkflows } from '../load-workflows';
import { dbUrl, printJson, type Command } from './command';

const label = (b: { executionId: string; namespace: string }) => (b.namespace === 'default' ? b.executionId : `${b.executionId} (namespace ${b.namespace})`);

function describeUndecodable(u: DeployUndecodable): string {
  return `UNDECODABLE ${label(u)} (${u.workflowName}, ${u.status}): not checked\n  ${u.message}\n`;
}

function describeBad(b: DeployIncompatibility): string {
  const had = `${b.expected.kind} "${b.expected.name}"`;
  const now = b.actual ? `${b.actual.kind} "${b.actual.name}"` : 'nothing';
  return `INCOMPATIBLE ${label(b)} (${b.workflowName}, ${b.status}${b.lastBuild ? `, build ${b.lastBuild}` : ''})\n` +
    `  position: ${b.position}\n  history:  ${had}\n  code now: ${now}\n  ${b.message}\n  fix: ${b.suggestion}\n`;
}

export const replayCommand: Command = {
  name: 'replay',
  summary: 'deploy gate: replay stored histories against new workflow code (read-only)',
  usage: 'leaseflow replay --check --workflows <dir|module> [--all] [--sample N] [--json]',
  description: 'Replay the histories of live executions (running, waiting, queued with history) and of the N most recently ' +
    'completed executions per workflow against the code in --workflows, streamed in pages, with no side effects on a read-only ' +
    'connection. Exits 0 when every history is compatible, 7 on the first incompatible one (every one with --all), naming the ' +
    'execution, the position, what the history had, what the code issued and the patch that would fix it. Payloads are decoded with ' +
    'LEASEFLOW_PAYLOAD_KEYS; histories it cannot decode are listed as UNDECODABLE (exit 1 when nothing is incompatible). Every namespace ' +
    'is checked unless --namespace (or LEASEFLOW_NAMESPACE) names one.',
  options: {
    check: { type: 'boolean', description: 'check the code against the store (required)' },
    workflows: { type: 'string', arg: 'PATH', description: 'the NEW code: a module or a directory of modules' },
    all: { type: 'boolean', description: 'report every incompatible execution, not just the first' },
    sample: { type: 'string', arg: 'N', description: 'recently completed executions per workflow (0–100000, default 20)' },
    ...JSON_OPTION,
  },
  async run(args, io) {
    positionals(args, [], 'replay');
    if (!args.options.check) throw new UsageError('replay needs --check (the deploy gate)');
    const path = str(args, 'workflows');
    if (!path) throw new UsageError('replay --check needs --workflows <dir|module> (the new code)');
    const workflows = await loadWorkflows(path);
    // Every namespace unless one is given (--namespace or LEASEFLOW_NAMESPACE); payloads decoded with LEASEFLOW_PAYLOAD_KEYS.
    const report = await checkDeploy({
      db: dbUrl(args, io), workflows, all: args.options.all === true, sample: int(args, 'sample', 20, 0, 100_000),
      codecs: codecsFromEnv(io.env), namespace: str(args, 'namespace') ?? (io.env.LEASEFLOW_NAMESPACE || undefined),
    });
    if (args.options.json) printJson(io, report);
    else {
      for (const b of report.incompatible) io.out(describeBad(b));
      for (const u of report.undecodable) io.out(describeUndecodable(u));
      const verdict = report.incompatible.length ? 'INCOMPATIBLE' : report.undecodableCount ? 'UNDECODABLE' : 'OK';
      io.out(`${verdict}: ${report.checked} histories replayed in ${report.durationMs} ms` +
        `${report.incompatible.length ? `, ${report.incompatible.length} incompatible${report.stoppedEarly ? ' (stopped at the first; --all for every one)' : ''}` : ''}` +
        `${report.undecodableCount ? `, ${report.undecodableCount} not checked (payloads undecodable without the key)` : ''}\n`);
      if (report.liveOfOtherWorkflows > 0) {
        io.err(`leaseflow: warning: ${report.liveOfOtherWorkflows} live executions belong to workflows not defined in ${path} (not checked)\n`);
      }
    }
    // Undecodable histories alone are not proof of incompatible code: a general failure (1), not 7.
    return report.ok ? EXIT.ok : report.incompatible.length ? EXIT.incompatible : EXIT.error;
  },
};
