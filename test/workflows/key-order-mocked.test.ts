// Per-key order's workflow (deliverKeyOrdered, workflows/key-order.ts) with mocked activities on the stack's
// Temporal: events signalled out of sequencer order are delivered in sequencer order, one at a time; an event
// handed over twice is delivered once; a late one is delivered after, counted; the queue survives continue-as-new;
// the run ends idle. deliverEventV3 hands an ordered target to it (a local activity) instead of delivering. The
// recorded history replays on today's bundle.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import { DEFAULT_RETRY, type RetrySettings } from '../../src/config/retry';
import { buildEvent } from '../../src/events';
import type { DeliverToTargetInput } from '../../activities/deliver';
import type { HandOffInput } from '../../activities/key-order';
import type { DeliveryResult, ResolvedTarget } from '../../src/delivery/types';
import type { KeyOrderInput, KeyOrderProgress, OrderedEvent } from '../../src/delivery/key-order';
import { KEY_ORDER_ENQUEUE_SIGNAL, KEY_ORDER_PROGRESS_QUERY } from '../../src/delivery/key-order';
import { DELIVER_EVENT_V3, DELIVER_KEY_ORDERED } from '../../src/delivery/workflow-types';
import { deliverySinks } from '../../src/engine/worker';
import { loadWorkflowBundle } from '../../src/engine/workflow-bundle';
import { mockedWorker } from '../helpers/mocked-worker';
import { needs } from '../helpers/needs';

const { test } = needs('temporal');

const WINDOW_MS = 1_500;
const retry: RetrySettings = {
  ...DEFAULT_RETRY,
  fastIntervalMs: 10,
  initialIntervalMs: 10,
  maxIntervalMs: 50,
  keyOrder: { windowMs: WINDOW_MS },
};
const ordered: ResolvedTarget = { arn: 'arn:minio:sqs::1:webhook', retry };

/** Event ids each mocked send received, in the order the sends were made. */
const sent: string[] = [];
let inFlight = 0;
let overlapped = false;
const handOffs: HandOffInput[] = [];

const mocked = mockedWorker(
  {
    async deliverToTarget(input: DeliverToTargetInput) {
      if (inFlight++ > 0) overlapped = true;
      try {
        await new Promise((resolve) => setTimeout(resolve, 20));
        sent.push(input.eventId);
        return { attempt: (input.attemptsBefore ?? 0) + Context.current().info.attempt, arn: input.arn };
      } finally {
        inFlight--;
      }
    },
    async deliverToTargets(input: { arns: string[] }) {
      return input.arns.map((arn) => ({ arn, delivered: true }));
    },
    async handOffOrdered(input: HandOffInput) {
      handOffs.push(input);
      return input.targets.map((t) => ({ arn: t.arn, workflowId: `order-of-${t.arn}` }));
    },
  },
  'key-order',
);

/** The n-th event of one object: sequencer 0x17F0...00 + n, a put or (odd n) a delete. */
function eventOf(key: string, n: number): OrderedEvent {
  const record = buildEvent({
    eventName: n % 2 === 0 ? 's3:ObjectCreated:Put' : 's3:ObjectRemoved:Delete',
    bucket: 'ordered',
    key,
    size: n,
    sequencer: (0x17f0a1b2c3d40000n + BigInt(n)).toString(16).toUpperCase(),
  });
  return { eventId: `${key}#${n}`, record };
}

/** Signal-with-start, as the publisher does it; resolves with the run signalled. */
async function handOver(workflowId: string, input: KeyOrderInput, event: OrderedEvent): Promise<string> {
  const handle = await mocked.client.workflow.signalWithStart(DELIVER_KEY_ORDERED, {
    taskQueue: mocked.taskQueue,
    workflowId,
    args: [input],
    signal: KEY_ORDER_ENQUEUE_SIGNAL,
    signalArgs: [event],
  });
  return handle.signaledRunId;
}

async function progressOf(workflowId: string): Promise<KeyOrderProgress> {
  return mocked.client.workflow.getHandle(workflowId).query<KeyOrderProgress>(KEY_ORDER_PROGRESS_QUERY);
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('events signalled out of order are delivered one at a time in sequencer order, a repeat once', async () => {
  const key = `photos/${randomUUID()}.jpg`;
  const workflowId = `key-order-${randomUUID()}`;
  const input: KeyOrderInput = { target: ordered, bucket: 'ordered', key, idleMs: 1_000 };
  const events = Array.from({ length: 6 }, (_, n) => eventOf(key, n));
  // Within the hold window, newest first, one handed over twice.
  for (const n of [5, 3, 4, 0, 2, 1, 3]) await handOver(workflowId, input, events[n]);
  const result: KeyOrderProgress = await mocked.client.workflow.getHandle(workflowId).result();
  assert.deepEqual(
    sent.filter((id) => id.startsWith(key)),
    events.map((e) => e.eventId),
  );
  assert.equal(overlapped, false, 'one send at a time');
  assert.deepEqual(result, { queued: [], delivered: 6, late: 0, failed: [] });

  // The recorded history replays on today's bundle (what a worker restarted mid-queue does).
  const history = await mocked.client.workflow.getHandle(workflowId).fetchHistory();
  const signals = history.events!.filter((e) => e.workflowExecutionSignaledEventAttributes).length;
  assert.equal(signals, 7, 'every hand-over is a signal in the history');
  await Worker.runReplayHistory({ workflowBundle: await loadWorkflowBundle(), sinks: deliverySinks() }, history);
});

test('an event arriving after a newer one was delivered is delivered after it, counted late', async () => {
  const key = `photos/${randomUUID()}.jpg`;
  const workflowId = `key-order-${randomUUID()}`;
  const input: KeyOrderInput = { target: ordered, bucket: 'ordered', key, idleMs: 5_000 };
  const [older, newer] = [eventOf(key, 0), eventOf(key, 1)];
  await handOver(workflowId, input, newer);
  await until('the newer event is delivered', () => sent.includes(newer.eventId));
  await handOver(workflowId, input, older);
  await until('the late event is delivered', async () => (await progressOf(workflowId)).delivered === 2);
  assert.deepEqual(
    sent.filter((id) => id.startsWith(key)),
    [newer.eventId, older.eventId],
  );
  assert.equal((await progressOf(workflowId)).late, 1);
  await mocked.client.workflow.getHandle(workflowId).terminate('test over');
});

test('the queue is carried across continue-as-new: nothing dropped, order kept', async () => {
  const key = `photos/${randomUUID()}.jpg`;
  const workflowId = `key-order-${randomUUID()}`;
  const input: KeyOrderInput = { target: ordered, bucket: 'ordered', key, idleMs: 1_000, eventsPerRun: 2 };
  const events = Array.from({ length: 7 }, (_, n) => eventOf(key, n));
  const runs: string[] = [];
  for (const n of [6, 1, 5, 0, 4, 2, 3]) runs.push(await handOver(workflowId, input, events[n]));
  const handle = mocked.client.workflow.getHandle(workflowId);
  const result: KeyOrderProgress = await handle.result(); // follows the runs
  assert.deepEqual(
    sent.filter((id) => id.startsWith(key)),
    events.map((e) => e.eventId),
  );
  assert.equal(result.delivered, 7, 'the counts are carried across runs');
  const history = await mocked.client.workflow.getHandle(workflowId, runs[0]).fetchHistory();
  assert.ok(
    history.events!.some((e) => e.workflowExecutionContinuedAsNewEventAttributes),
    'the first run continued as new',
  );
});

test('deliverEventV3 hands an ordered target to its key workflow and delivers the others itself', async () => {
  const record = buildEvent({ eventName: 's3:ObjectCreated:Put', bucket: 'ordered', key: 'a.jpg', size: 1 });
  const plain: ResolvedTarget = { arn: 'arn:minio:sqs::1:redis', retry: DEFAULT_RETRY };
  const eventId = randomUUID();
  const result: DeliveryResult = await mocked.client.workflow.execute(DELIVER_EVENT_V3, {
    taskQueue: mocked.taskQueue,
    workflowId: `key-order-v3-${eventId}`,
    args: [{ eventId, record, targets: [plain, ordered] }],
  });
  assert.deepEqual(result.targets, [
    { arn: plain.arn, status: 'delivered', attempts: 1 },
    { arn: ordered.arn, status: 'handed-off', workflowId: `order-of-${ordered.arn}` },
  ]);
  const handed = handOffs.find((h) => h.eventId === eventId);
  assert.deepEqual(
    handed?.targets.map((t) => t.arn),
    [ordered.arn],
  );
});
