// Dead letters on the real engine with real HTTP receivers, read back through the real CLI (bin/bucketflow): a target
// that refuses an event for good hands it, with its failure, to its dead letter exactly once, and the delivery stays
// failed (listed by `deliveries list --status failed`, redeliverable); a dead letter that is down too is retried on its
// own schedule and then fails visibly: both failures in `deliveries show`, nothing lost. The high-volume mode hands off
// the same way (the event continues per event). See docs/targets.md#dead-letters.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { deadLetterEventId } from '../../activities/deliver';
import type { DeadLetterFailure } from '../../src/delivery/types';
import { toEnvelope } from '../../src/events';
import type { DeliveryDetails, DeliverySummary } from '../../src/operator/deliveries/inspect';
import { redeliveryIdOf } from '../../src/operator/deliveries/redeliver';
import { EVENT_ID_HEADER } from '../../src/targets/common';
import { cliFor, eventually } from '../helpers/cli';
import { startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { deliveryOf } from '../helpers/records';
import { needs } from '../helpers/needs';

const { after, before, test } = needs('temporal');

const arn = (id: string) => `arn:minio:sqs:us-east-1:${id}:webhook`;
const rule = (target: string) => ({ id: '1', arn: target, events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' });
const buckets = { refused: uniqueBucket('dl-refused'), bothDown: uniqueBucket('dl-both-down') };

let engine: Engine;
let cli: ReturnType<typeof cliFor>;
const receivers: Record<string, Receiver> = {};

before(async () => {
  receivers.refusing = await Receiver.start([400]); // refuses the event for good, takes its redelivery
  receivers.dlq = await Receiver.start();
  receivers.stubborn = await Receiver.start([], 400);
  receivers.dlqDown = await Receiver.start([], 503);
  engine = await startEngine({
    notify: {
      webhook: {
        refusing: { enable: true, endpoint: receivers.refusing.url, dead_letter: arn('dlq') },
        dlq: { enable: true, endpoint: receivers.dlq.url },
        stubborn: { enable: true, endpoint: receivers.stubborn.url, dead_letter: arn('dlqdown') },
        dlqdown: {
          enable: true,
          endpoint: receivers.dlqDown.url,
          retry_initial_interval: '1s',
          retry_max_interval: '1s',
          retry_max_duration: '6s',
        },
      },
    },
    rules: { [buckets.refused]: [rule(arn('refusing'))], [buckets.bothDown]: [rule(arn('stubborn'))] },
  });
  cli = cliFor(engine.settings);
});

after(async () => {
  await engine?.stop();
  for (const receiver of Object.values(receivers)) await receiver.close();
});

function publish(client: Engine['client'], bucket: string, key: string) {
  const { record } = deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket, key });
  return client.publish(record).then(([published]) => ({ ...published, record }));
}

async function show(ref: string): Promise<DeliveryDetails> {
  const { code, out, err } = await cli('deliveries', 'show', ref, '--json');
  assert.equal(code, 0, err);
  return JSON.parse(out) as DeliveryDetails;
}

async function failedListed(bucket: string): Promise<DeliverySummary[]> {
  return eventually(async () => {
    const { code, out, err } = await cli('deliveries', 'list', '--json', '--status', 'failed', '--bucket', bucket);
    assert.equal(code, 0, err);
    const rows = JSON.parse(out) as DeliverySummary[];
    return rows.length === 1 ? rows : undefined;
  }, `the failed delivery listed in ${bucket}`);
}

test('a target refusing for good: its dead letter receives the event with its failure once; the delivery stays failed and redeliverable', async () => {
  const started = Date.now();
  const published = await publish(engine.client, buckets.refused, 'photos/cat.jpg');
  await engine.plainClient.temporal.workflow
    .getHandle(published.workflowId)
    .result()
    .catch(() => {});

  await receivers.dlq.waitForRequests(1);
  await sleep(1_000); // a second hand-off would have come by now
  assert.equal(receivers.dlq.requests.length, 1, 'exactly one dead letter');
  const [letter] = receivers.dlq.requests;
  assert.equal(letter.headers[EVENT_ID_HEADER.toLowerCase()], deadLetterEventId(published.eventId, arn('refusing')));
  const body = JSON.parse(letter.body) as { deadLetter: DeadLetterFailure; event: unknown };
  assert.deepEqual(body.event, toEnvelope(published.record));
  const { firstAttemptAt, lastAttemptAt, runId, error, ...failure } = body.deadLetter;
  assert.deepEqual(failure, {
    target: arn('refusing'),
    eventId: published.eventId,
    errorType: 'PermanentDeliveryError',
    attempts: 1,
    workflowId: published.workflowId,
  });
  assert.match(error, new RegExp(`^${arn('refusing')}: POST http://127\\.0\\.0\\.1:\\d+/ answered 400: scripted 400$`));
  assert.ok(Date.parse(firstAttemptAt) >= started - 1_000 && Date.parse(firstAttemptAt) <= Date.parse(lastAttemptAt));
  assert.ok(Date.parse(lastAttemptAt) <= Date.now());
  assert.ok(runId);

  const [row] = await failedListed(buckets.refused);
  assert.deepEqual([row.workflowId, row.failedTargets], [published.workflowId, [arn('refusing')]]);
  const details = await show(published.eventId);
  assert.equal(details.status, 'failed');
  const [outcome] = details.outcomes;
  assert.deepEqual([outcome.arn, outcome.state, outcome.attempts], [arn('refusing'), 'failed', 1]);
  assert.deepEqual(
    { ...outcome.deadLetter, handedOffAt: undefined, lastAttemptAt: undefined },
    { arn: arn('dlq'), state: 'delivered', attempts: 1, handedOffAt: undefined, lastAttemptAt: undefined },
  );
  const text = await cli('deliveries', 'show', published.eventId);
  assert.match(text.out, new RegExp(`${arn('refusing')}\\s+failed\\s+1\\s+fast\\s+.*answered 400`));
  assert.match(text.out, /^dead letters \(/m);
  assert.match(
    text.out,
    new RegExp(`${arn('refusing')}\\s+${arn('dlq')}\\s+delivered\\s+1\\s+\\+\\S+\\s+\\+\\S+\\s+-\\s+-`),
  );

  // Redeliverable as any failed delivery: the target takes it now, and no second dead letter is sent.
  const redelivered = await cli('redeliver', published.eventId);
  assert.equal(redelivered.code, 0, redelivered.err);
  assert.match(redelivered.out, new RegExp(`started ${redeliveryIdOf(published.workflowId)}`));
  await receivers.refusing.waitForRequests(2);
  await engine.plainClient.temporal.workflow.getHandle(redeliveryIdOf(published.workflowId)).result();
  assert.equal(JSON.parse(receivers.refusing.requests[1].body).Key, `${buckets.refused}/photos/cat.jpg`);
  assert.equal(receivers.dlq.requests.length, 1);
});

test('the dead letter down too: retried on its own schedule, then both failures are in deliveries show; nothing lost', async () => {
  const published = await publish(engine.client, buckets.bothDown, 'docs/report.pdf');
  // While the dead letter is retried, show says so: retrying, with its last error and its next attempt.
  const retrying = await eventually(async () => {
    const details = await show(published.eventId);
    const handed = details.outcomes[0].deadLetter;
    return handed?.state === 'retrying' && handed.nextAttemptAt && handed.error ? details : undefined;
  }, 'the hand-off retrying');
  assert.equal(retrying.outcomes[0].state, 'failed');
  assert.match(retrying.outcomes[0].deadLetter!.error!, /answered 503/);

  await engine.plainClient.temporal.workflow
    .getHandle(published.workflowId)
    .result()
    .catch(() => {});
  const attempts = receivers.dlqDown.requests.length;
  assert.ok(attempts >= 2, `the dead letter was retried (${attempts} attempts)`);
  for (const request of receivers.dlqDown.requests) {
    const { deadLetter } = JSON.parse(request.body) as { deadLetter: DeadLetterFailure };
    assert.equal(deadLetter.target, arn('stubborn'));
  }

  const [row] = await failedListed(buckets.bothDown);
  assert.deepEqual(row.failedTargets, [arn('stubborn')]);
  const details = await show(published.eventId);
  const [outcome] = details.outcomes;
  assert.equal(outcome.state, 'failed');
  assert.match(outcome.error!, /answered 400/);
  assert.equal(outcome.deadLetter?.arn, arn('dlqdown'));
  assert.equal(outcome.deadLetter?.state, 'failed');
  assert.match(outcome.deadLetter!.error!, /ScheduleToClose|answered 503/);
  const text = await cli('deliveries', 'show', published.eventId);
  assert.match(text.out, new RegExp(`${arn('stubborn')}\\s+${arn('dlqdown')}\\s+failed\\s`));

  // The event is still there to send again.
  const dry = await cli('redeliver', published.eventId, '--dry-run');
  assert.equal(dry.code, 0, dry.err);
  assert.match(dry.out, new RegExp(`${arn('stubborn')}\\s+would start ${redeliveryIdOf(published.workflowId)}`));
});

test('the high-volume mode: an event a batch could not deliver continues per event and is handed off there once', async () => {
  const bucket = uniqueBucket('dl-batch');
  const refusing = await Receiver.start([], 400);
  const dlq = await Receiver.start();
  const batched = await startEngine({
    notify: {
      webhook: {
        refusing: { enable: true, endpoint: refusing.url, dead_letter: arn('dlq') },
        dlq: { enable: true, endpoint: dlq.url },
      },
    },
    rules: { [bucket]: [rule(arn('refusing'))] },
    batch: { maxEvents: 10, maxWaitMs: 0 },
  });
  try {
    const published = await publish(batched.client, bucket, 'a.jpg');
    await dlq.waitForRequests(1);
    await sleep(1_000);
    assert.equal(dlq.requests.length, 1);
    const { deadLetter, event } = JSON.parse(dlq.requests[0].body) as { deadLetter: DeadLetterFailure; event: unknown };
    assert.deepEqual([deadLetter.target, deadLetter.errorType], [arn('refusing'), 'PermanentDeliveryError']);
    assert.deepEqual(event, toEnvelope(published.record));
    assert.equal(refusing.requests.length, 1, 'the refusal is not retried');
  } finally {
    await batched.stop();
    await refusing.close();
    await dlq.close();
  }
});
