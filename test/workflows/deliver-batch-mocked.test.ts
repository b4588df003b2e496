// deliverBatch with a mocked activity, as in Temporal's samples: the workflow's own decisions. It makes one
// local activity call for the whole batch in its first workflow task and returns that activity's per-event
// outcomes; a failed activity (its worker lost, a per-event start refused) is tried again, as a whole.
// Runs on the stack's Temporal server; the activity is a scripted stand-in, no target is contacted.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { buildEvent, eventIdentity } from '../../src/events';
import { mockedWorker } from '../helpers/mocked-worker';
import type { Activities } from '../../activities';
import { DELIVER_BATCH } from '../../src/delivery/workflow-types';
import type { BatchResult, DeliverBatchInput } from '../../src/delivery/types';
import { eventTypes, localActivityAttempts } from '../helpers/history';
import { needs } from '../helpers/needs';

const { test } = needs('temporal');

let calls: DeliverBatchInput[] = [];
let script: (input: DeliverBatchInput) => Promise<BatchResult>;

const mocks: Pick<Activities, 'deliverBatchEvents'> = {
  async deliverBatchEvents(input) {
    calls.push(input);
    return script(input);
  },
};

const mocked = mockedWorker(mocks, 'mocked-batch');

function batchOf(count: number): DeliverBatchInput {
  return {
    events: Array.from({ length: count }, (_, n) => {
      const record = buildEvent({
        eventName: 's3:ObjectCreated:Put',
        bucket: 'mocked',
        key: `${randomUUID()}-${n}.jpg`,
        size: 1,
      });
      return { eventId: eventIdentity(record), record, targets: [] };
    }),
  };
}

const outcomesOf = (input: DeliverBatchInput, continued: Set<number> = new Set()): BatchResult => {
  const outcomes = input.events.map((e, n) => ({
    eventId: e.eventId,
    object: `mocked/${e.record.s3.object.key}`,
    targets: [{ arn: 'a', delivered: !continued.has(n) }],
    ...(continued.has(n) ? { continuedIn: `bucketflow-${e.eventId}` } : {}),
  }));
  return { events: outcomes.length, delivered: outcomes.length - continued.size, continued: continued.size, outcomes };
};

async function run(input: DeliverBatchInput) {
  calls = [];
  const handle = await mocked.client.workflow.start(DELIVER_BATCH, {
    taskQueue: mocked.taskQueue,
    workflowId: `mocked-batch-${randomUUID()}`,
    args: [input],
  });
  const result: BatchResult = await handle.result();
  return { result, history: await handle.fetchHistory() };
}

test('a batch is one local activity in its first workflow task, its result the per-event outcomes', async () => {
  script = async (input) => outcomesOf(input);
  const input = batchOf(5);
  const { result, history } = await run(input);
  assert.equal(calls.length, 1);
  assert.deepEqual(
    calls[0].events.map((e) => e.eventId),
    input.events.map((e) => e.eventId),
  );
  assert.equal(result.delivered, 5);
  assert.deepEqual(eventTypes(history), [
    'WORKFLOW_EXECUTION_STARTED',
    'WORKFLOW_TASK_SCHEDULED',
    'WORKFLOW_TASK_STARTED',
    'WORKFLOW_TASK_COMPLETED',
    'MARKER_RECORDED',
    'WORKFLOW_EXECUTION_COMPLETED',
  ]);
});

test('events that continue on their own do not keep the batch open: it completes with its first task', async () => {
  script = async (input) => outcomesOf(input, new Set([1, 3]));
  const { result, history } = await run(batchOf(4));
  assert.equal(result.continued, 2);
  assert.deepEqual(
    result.outcomes.filter((o) => o.continuedIn).map((o) => o.continuedIn),
    [1, 3].map((n) => `bucketflow-${calls[0].events[n].eventId}`),
  );
  assert.equal(eventTypes(history).filter((t) => t === 'WORKFLOW_TASK_COMPLETED').length, 1);
});

test('an activity that fails as a whole is tried again as a whole; the batch still completes', async () => {
  let tries = 0;
  script = async (input) => {
    if (++tries === 1) throw new Error('could not continue event x in its own delivery: Temporal unreachable');
    return outcomesOf(input);
  };
  const { result, history } = await run(batchOf(3));
  assert.equal(calls.length, 2);
  assert.equal(result.delivered, 3);
  const attempts = localActivityAttempts(history);
  assert.deepEqual(
    attempts.map((a) => a.activityType),
    ['deliverBatchEvents'],
  );
});
