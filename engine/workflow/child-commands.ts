/**
 * Children: `startChild` creates the child execution in the parent's commit (its id is
 * deterministic: `{parentId}/{seq}` unless given); `handle.result()` waits durably for its end.
 * A parent's cancellation cancels its unfinished children unless started with
 * `onParentCancel: 'abandon'`.
 */
import { localKey, namespaceOf, nsKey, storedKey } from '../namespace/keys';
import { MAX_EXECUTION_ID_LENGTH } from '../store/entities';
import { LeaseflowError, recordError, reviveError, ValidationError, WorkflowIdConflictError, type RecordedError } from '../errors';
import { decodeValue, encodeValue } from '../serialization';
import { isDuplicateKeyError } from '../store/executions';
import { EventKind, FINISHED_STATUSES, type NewExecution } from '../store/types';
import type { ChildHandle, ChildOptions } from './context-types';
import { rateLimitOf, type WorkflowDefinition } from './define-workflow';
import type { ExecutionSession } from './session';
import { eventAt } from './names';
import { validateChildId, validateTemplateKey } from '../validation';
import { defaultChildId } from './runs';

/** Issue a child start. */
export function startChildCommand<I, O>(s: ExecutionSession, shielded: boolean, workflow: WorkflowDefinition<I, O>, input: I, options: ChildOptions = {}): Promise<ChildHandle<O>> {
  if (!workflow || typeof workflow.name !== 'string') throw new ValidationError('startChild needs a workflow definition', 'workflow');
  if (options.onParentCancel !== undefined && options.onParentCancel !== 'cancel' && options.onParentCancel !== 'abandon') {
    throw new ValidationError("onParentCancel must be 'cancel' or 'abandon'", 'onParentCancel');
  }
  if (options.id !== undefined) validateChildId(options.id);
  const what = `input of child "${workflow.name}"`;
  const json = encodeValue(input, what, s.payloads.active ? Number.POSITIVE_INFINITY : s.payloadLimitBytes); // the limit applies to the encoded form
  // A child lives in its parent's namespace: its id, given or derived from the parent's, and its keys.
  const ns = namespaceOf(s.record.id);
  const givenId = options.id === undefined ? undefined : storedKey(ns, options.id, MAX_EXECUTION_ID_LENGTH - 20, 'child id');
  const templateKey = workflow.template ? nsKey(ns, validateTemplateKey(workflow.template.key(input), workflow.name)) : null;
  const rateLimit = rateLimitOf(workflow, input);
  const abandon = options.onParentCancel === 'abandon';
  const handle = (childId: string): ChildHandle<O> => ({ executionId: localKey(childId), result: () => childResultCommand<O>(s, shielded, childId) });
  const cmd = s.scheduler.issue(EventKind.childStart, workflow.name, {
    shielded,
    fromRecord: (ev) => ({ ok: true, value: handle(decodeValue<{ childId: string }>(ev.payload).childId) }),
    start: async (c) => {
      const childId = givenId ?? defaultChildId(s.record, c.seq);
      const child: NewExecution = {
        id: childId, workflowName: workflow.name, workflowVersion: workflow.version, templateKey,
        templateLimit: workflow.template?.limit ?? null, input: await s.payloads.encodeJson(json, what, s.payloadLimitBytes), parentId: s.record.id, parentSeq: c.seq, delayMs: 0,
        traceContext: s.record.traceContext, priorityStepMs: workflow.priorityStepMs, rateLimit,
      };
      await s.scheduler.complete(c, {
        events: [eventAt(c.seq, EventKind.childStart, workflow.name, 'started', JSON.stringify(abandon ? { childId, abandon } : { childId }), 1)],
        children: [child], passDuplicate: true,
      }, { ok: true, value: handle(childId) }, () => {
        s.noteChild(childId, abandon);
        s.emit('child:started', { childId, workflow: workflow.name, seq: c.seq });
        s.nudge();
      }, (err) => ({ ok: false, error: isDuplicateKeyError(err) ? new WorkflowIdConflictError(childId, 'an execution with this id already exists') : err }));
    },
  });
  return cmd.promise as Promise<ChildHandle<O>>;
}

function childResultCommand<O>(s: ExecutionSession, shielded: boolean, childId: string): Promise<O> {
  const cmd = s.scheduler.issue(EventKind.childResult, childId, {
    shielded,
    fromRecord: (ev) => (ev.status === 'failed' ? { ok: false, error: reviveError(decodeValue<RecordedError>(ev.payload)) } : { ok: true, value: decodeValue(ev.payload) }),
    start: async (c) => {
      for (;;) {
        const child = await s.findExecution(childId);
        if (c.settled) return;
        if (!child) {
          const error = new LeaseflowError('CHILD_NOT_FOUND', `child execution "${childId}" not found`);
          await s.scheduler.complete(c, { events: [eventAt(c.seq, EventKind.childResult, childId, 'failed', await s.payloads.encodeError(recordError(error), s.payloadLimitBytes), 1)] }, { ok: false, error });
          return;
        }
        if (FINISHED_STATUSES.includes(child.status)) {
          const ok = child.status === 'completed';
          const payload = ok ? child.output : child.error;
          const value = await s.decodeLive(payload);
          await s.scheduler.complete(c, { events: [eventAt(c.seq, EventKind.childResult, childId, ok ? 'completed' : 'failed', payload, 1)] },
            ok ? { ok: true, value } : { ok: false, error: reviveError(value as RecordedError) });
          return;
        }
        await s.scheduler.block(c, { waitFor: { kind: 'child', seq: c.seq, childId }, childId });
        if (c.settled) return;
      }
    },
  });
  return cmd.promise as Promise<O>;
}
