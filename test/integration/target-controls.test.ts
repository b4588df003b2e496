// Operating targets on a real engine: a pause (set with the real CLI, read by the worker from the rules
// store) holds deliveries without failing them until resume; the circuit breaker stops sending to a dead
// target and closes when its health check answers; max_rate spaces sends out.
import assert from 'node:assert/strict';
import type { DeliveryResult } from '../../src/delivery/types';
import { cliFor, eventually } from '../helpers/cli';
import { startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { deliveryOf } from '../helpers/records';
import { needs } from '../helpers/needs';

const { after, before, test } = needs('temporal');

const arn = (id: string) => `arn:minio:sqs:us-east-1:${id}:webhook`;
const rule = (target: string) => ({ id: '1', arn: target, events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' });
const quick = { fast_attempts: 1, retry_initial_interval: '500ms', retry_max_interval: '1s' };

let engine: Engine;
let cli: ReturnType<typeof cliFor>;
const receivers: Record<string, Receiver> = {};
let deadPort: number;
const buckets = { paused: uniqueBucket('paused'), circuit: uniqueBucket('circuit'), rate: uniqueBucket('rate') };

before(async () => {
  receivers.paused = await Receiver.start();
  receivers.rate = await Receiver.start();
  const dead = await Receiver.start();
  deadPort = Number(new URL(dead.url).port);
  await dead.close(); // nothing listens there until the test brings it back
  engine = await startEngine({
    notify: {
      webhook: {
        paused: { enable: true, endpoint: receivers.paused.url, ...quick },
        circuit: {
          enable: true,
          endpoint: `http://127.0.0.1:${deadPort}/`,
          ...quick,
          circuit_threshold: 2,
          circuit_probe_interval: '300ms',
        },
        rate: { enable: true, endpoint: receivers.rate.url, ...quick, max_rate: 5 },
      },
    },
    rules: {
      [buckets.paused]: [rule(arn('paused'))],
      [buckets.circuit]: [rule(arn('circuit'))],
      [buckets.rate]: [rule(arn('rate'))],
    },
  });
  engine.deps.gate.durableWaitMs = 1_500; // several held attempts per test instead of one 90 s wait
  cli = cliFor(engine.settings);
});

after(async () => {
  await engine.stop();
  for (const receiver of Object.values(receivers)) await receiver.close();
});

const records = (bucket: string, n: number) =>
  Array.from(
    { length: n },
    (_, i) =>
      deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket, key: `k${i}`, eventTime: new Date(Date.now() + i) })
        .record,
  );

const result = (workflowId: string) =>
  engine.plainClient.temporal.workflow.getHandle(workflowId).result() as Promise<DeliveryResult>;

test(
  'a paused target gets nothing, its deliveries wait without failing, and go out after resume',
  { timeout: 90_000 },
  async () => {
    const paused = await cli('targets', 'pause', arn('paused'));
    assert.equal(paused.code, 0, paused.err);
    assert.equal(paused.out, `Paused ${arn('paused')}`);
    assert.match(
      (await cli('targets', 'health')).out,
      new RegExp(`${arn('paused')}\\s+online\\s+paused since \\d{4}-`),
    );

    const [published] = await engine.client.publish(records(buckets.paused, 1));
    await new Promise((resolve) => setTimeout(resolve, 5_000)); // three held attempts of the durable activity
    assert.equal(receivers.paused.requests.length, 0, 'nothing sent while paused');
    const handle = engine.plainClient.temporal.workflow.getHandle(published.workflowId);
    const description = await handle.describe();
    assert.equal(description.status.name, 'RUNNING');
    const [pending] = description.raw.pendingActivities ?? [];
    assert.match(pending.lastFailure?.message ?? '', /paused$/);

    const resumed = await cli('targets', 'resume', arn('paused'));
    assert.equal(resumed.out, `Resumed ${arn('paused')}`);
    await receivers.paused.waitForRequests(1, 10_000);
    const delivered = await result(published.workflowId);
    assert.equal(delivered.status, 'delivered');
    // The fast attempt was spent (held at once, so the delivery went durable); the held durable attempts are not
    // counted.
    assert.equal(delivered.targets[0].attempts, 2);
    assert.equal(receivers.paused.requests.length, 1);

    const unknown = await cli('targets', 'pause', arn('nope'));
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /^bucketflow: arn:minio:sqs:us-east-1:nope:webhook: unknown ARN/);
  },
);

test(
  'the circuit opens after consecutive failures, holds deliveries while the target is down, and closes when it is back',
  { timeout: 90_000 },
  async () => {
    const published = await engine.client.publish(records(buckets.circuit, 4));
    await eventually(
      async () => (engine.deps.gate.circuitOf(arn('circuit'))?.state === 'open' ? true : undefined),
      'the circuit to open',
    );
    const health = await eventually(async () => {
      const { out } = await cli('targets', 'health');
      return /circuit open on \S+ since \S+ after 2 failures: .*ECONNREFUSED/.test(out) ? out : undefined;
    }, 'targets health to show the open circuit');
    assert.match(health, new RegExp(`${arn('circuit')}\\s+offline`));
    // Held, not failing: the durable attempts end with "circuit open" rather than the connection error.
    await eventually(async () => {
      const { raw } = await engine.plainClient.temporal.workflow.getHandle(published[3].workflowId).describe();
      return /circuit open$/.test(raw.pendingActivities?.[0]?.lastFailure?.message ?? '') ? true : undefined;
    }, 'a held attempt');

    receivers.circuit = await Receiver.start([], 200, { port: deadPort });
    await receivers.circuit.waitForRequests(4, 20_000);
    for (const { workflowId } of published) assert.equal((await result(workflowId)).status, 'delivered');
    assert.equal(engine.deps.gate.circuitOf(arn('circuit'))?.state, 'closed');
    assert.match((await cli('targets', 'health')).out, /circuit closed on \S+ since/);
  },
);

test('max_rate spaces the sends to a target out across the worker', { timeout: 60_000 }, async () => {
  const published = await engine.client.publish(records(buckets.rate, 10));
  await receivers.rate.waitForRequests(10, 30_000);
  for (const { workflowId } of published) assert.equal((await result(workflowId)).status, 'delivered');
  const times = receivers.rate.requests.map((r) => r.receivedAt).sort((a, b) => a - b);
  // 10 sends at 5/s: at least nine 200 ms gaps.
  assert.ok(times[9] - times[0] >= 1_700, `10 sends took ${times[9] - times[0]} ms`);
});
