// `bucketflow deliveries list|show` and `redeliver` against the real stack: a real engine delivers to real
// HTTP receivers, then the real CLI finds, explains and redelivers those deliveries.
import assert from 'node:assert/strict';
import { eventIdentity } from '../../src/events';
import {
  planSingleRedelivery,
  redeliveryIdOf,
  startRedelivery,
  type RedeliverContext,
} from '../../src/operator/deliveries/redeliver';
import type { DeliverySummary, DeliveryDetails } from '../../src/operator/deliveries/inspect';
import { cliFor, eventually } from '../helpers/cli';
import { startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { deliveryOf } from '../helpers/records';
import { needs } from '../helpers/needs';

const { after, before, test } = needs('temporal');

const arn = (id: string) => `arn:minio:sqs:us-east-1:${id}:webhook`;
const rule = (target: string) => ({ id: '1', arn: target, events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' });
// A 400 is a permanent failure: the target fails at once, without retries, and answers 200 afterwards.
const fastFail = { fast_attempts: 1 };

let engine: Engine;
let cli: ReturnType<typeof cliFor>;
const receivers: Record<string, Receiver> = {};
const buckets = {
  partial: uniqueBucket('partial'),
  running: uniqueBucket('running'),
  bulk: uniqueBucket('bulk'),
  stuck: uniqueBucket('stuck'),
  planned: uniqueBucket('planned'),
  racing: uniqueBucket('racing'),
};

before(async () => {
  receivers.ok = await Receiver.start();
  receivers.flaky = await Receiver.start([400]); // down for the first event, back up after
  receivers.bulk = await Receiver.start([400, 400]);
  receivers.stuck = await Receiver.start([400], 503); // refuses the redelivery too: it stays open, retrying
  receivers.down = await Receiver.start([], 503);
  receivers.planned = await Receiver.start([400]); // fails the first event, takes the redelivery
  receivers.racing = await Receiver.start([400]);
  engine = await startEngine({
    notify: {
      webhook: {
        ok: { enable: true, endpoint: receivers.ok.url },
        flaky: { enable: true, endpoint: receivers.flaky.url, ...fastFail },
        bulk: { enable: true, endpoint: receivers.bulk.url, ...fastFail },
        stuck: {
          enable: true,
          endpoint: receivers.stuck.url,
          ...fastFail,
          retry_initial_interval: '1s',
          retry_max_interval: '2s',
        },
        down: {
          enable: true,
          endpoint: receivers.down.url,
          ...fastFail,
          retry_initial_interval: '1s',
          retry_max_interval: '2s',
        },
        planned: { enable: true, endpoint: receivers.planned.url, ...fastFail },
        racing: { enable: true, endpoint: receivers.racing.url, ...fastFail },
      },
    },
    rules: {
      [buckets.partial]: [rule(arn('ok')), { ...rule(arn('flaky')), id: '2' }],
      [buckets.running]: [rule(arn('down'))],
      [buckets.bulk]: [rule(arn('bulk'))],
      [buckets.stuck]: [rule(arn('stuck'))],
      [buckets.planned]: [rule(arn('planned'))],
      [buckets.racing]: [rule(arn('racing'))],
    },
  });
  cli = cliFor(engine.settings);
});

after(async () => {
  // Deliveries left retrying on purpose end with the test.
  for await (const info of engine.plainClient.temporal.workflow.list({
    query: `TaskQueue = '${engine.settings.taskQueue}' AND ExecutionStatus = 'Running'`,
  })) {
    await engine.plainClient.temporal.workflow
      .getHandle(info.workflowId)
      .terminate('test over')
      .catch(() => {});
  }
  await engine.stop();
  for (const receiver of Object.values(receivers)) await receiver.close();
});

function publish(bucket: string, key: string) {
  const { record } = deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket, key });
  return engine.client.publish(record).then(([published]) => ({ ...published, record }));
}

/** What `bucketflow redeliver` (and the status page) plan and start with, on this engine's settings. */
function redeliverContext(): RedeliverContext {
  const { settings } = engine;
  return {
    client: engine.plainClient.temporal,
    taskQueue: settings.taskQueue,
    namespace: settings.namespace,
    temporalUiUrl: settings.temporalUiUrl,
    retryFor: () => undefined,
  };
}

async function settled(workflowId: string) {
  await engine.plainClient.temporal.workflow
    .getHandle(workflowId)
    .result()
    .catch(() => {});
}

/** `deliveries list --json` once visibility shows `count` rows matching. */
async function listed(args: string[], count: number): Promise<DeliverySummary[]> {
  return eventually(
    async () => {
      const { code, out, err } = await cli('deliveries', 'list', '--json', ...args);
      assert.equal(code, 0, err);
      const rows = JSON.parse(out) as DeliverySummary[];
      return rows.length === count ? rows : undefined;
    },
    `${count} deliveries for ${args.join(' ')}`,
  );
}

test(
  'deliveries list and show explain a partial delivery; redeliver sends only the failed target once it is back',
  { timeout: 120_000 },
  async () => {
    const published = await publish(buckets.partial, 'photos/cat.jpg');
    await settled(published.workflowId);

    const [row] = await listed(['--bucket', buckets.partial, '--status', 'partial'], 1);
    assert.equal(row.workflowId, published.workflowId);
    assert.deepEqual(row.failedTargets, [arn('flaky')]);
    // Visibility has the delivery now: the reads that follow are independent, so they run side by side.
    const [delivered, byTarget, otherPrefix, table, shown, text, dry] = await Promise.all([
      listed(['--bucket', buckets.partial, '--status', 'delivered'], 0),
      listed(['--bucket', buckets.partial, '--prefix', 'photos/', '--target', arn('flaky'), '--since', '1h'], 1),
      listed(['--bucket', buckets.partial, '--prefix', 'videos/'], 0),
      cli('deliveries', 'list', '--bucket', buckets.partial),
      cli('deliveries', 'show', published.eventId, '--json'),
      cli('deliveries', 'show', `${buckets.partial}/photos/cat.jpg`),
      cli('redeliver', published.eventId, '--dry-run'), // --dry-run starts nothing
    ]);
    assert.deepEqual(delivered, []);
    assert.equal(byTarget.length, 1);
    assert.equal(otherPrefix.length, 0);
    assert.match(table.out, /^STARTED\s+STATUS\s+OBJECT/);
    assert.match(
      table.out,
      new RegExp(
        `partial\\s+${buckets.partial}/photos/cat.jpg\\s+s3:ObjectCreated:Put\\s+2\\s+${arn('flaky')}\\s+${published.workflowId}`,
      ),
    );

    assert.equal(shown.code, 0, shown.err);
    const details = JSON.parse(shown.out) as DeliveryDetails;
    // The Web UI beside the server the tests use: the dev server's 8233, or the port + 1000 of the cluster's frontend.
    assert.equal(details.url, `${engine.settings.temporalUiUrl}/namespaces/default/workflows/${published.workflowId}`);
    const byArn = Object.fromEntries(details.outcomes.map((t) => [t.arn, t]));
    assert.equal(byArn[arn('ok')].state, 'delivered');
    assert.equal(byArn[arn('ok')].attempts, 1);
    assert.ok(byArn[arn('ok')].lastAttemptAt, 'a fast-path success has its time');
    assert.equal(byArn[arn('flaky')].state, 'failed');
    assert.match(byArn[arn('flaky')].error!, /answered 400/);
    // The same delivery by bucket/key, as text.
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /status\s+partial \(workflow Failed\)/);
    assert.match(text.out, new RegExp(`${arn('flaky')}\\s+failed\\s+1\\s+fast\\s+\\S+\\s+\\S+\\s+-\\s+.*answered 400`));
    assert.ok(
      text.out.includes(`web ui         ${engine.settings.temporalUiUrl}/namespaces/default/workflows/bucketflow-`),
      text.out,
    );

    assert.equal(dry.code, 0, dry.err);
    assert.match(
      dry.out,
      new RegExp(`${published.workflowId}\\s+${arn('flaky')}\\s+would start ${redeliveryIdOf(published.workflowId)}`),
    );
    await assert.rejects(
      engine.plainClient.temporal.workflow.getHandle(redeliveryIdOf(published.workflowId)).describe(),
      /not found/i,
    );

    const okBefore = receivers.ok.requests.length;
    const flakyBefore = receivers.flaky.requests.length;
    const redelivered = await cli('redeliver', published.eventId);
    assert.equal(redelivered.code, 0, redelivered.err);
    assert.match(redelivered.out, /started bucketflow-.*-redelivery/);
    await receivers.flaky.waitForRequests(flakyBefore + 1);
    const arrived = receivers.flaky.requests.at(-1)!;
    assert.equal(arrived.headers['x-bucketflow-event-id'], published.eventId, 'the same event id travels again');
    assert.equal(JSON.parse(arrived.body).Key, `${buckets.partial}/photos/cat.jpg`);
    await settled(redeliveryIdOf(published.workflowId));
    assert.equal(receivers.ok.requests.length, okBefore, 'the delivered target gets nothing again');

    // show links both ways; the redelivery's own page points back.
    const linked = await eventually(async () => {
      const d = JSON.parse((await cli('deliveries', 'show', published.workflowId, '--json')).out) as DeliveryDetails;
      return d.redeliveries.length === 1 && d.redeliveries[0].status === 'delivered' ? d : undefined;
    }, 'the redelivery in show');
    assert.deepEqual(linked.redeliveries[0].targets, [arn('flaky')]);
    const back = JSON.parse(
      (await cli('deliveries', 'show', redeliveryIdOf(published.workflowId), '--json')).out,
    ) as DeliveryDetails;
    assert.equal(back.redeliveryOf, published.workflowId);
    assert.deepEqual(
      back.outcomes.map((t) => [t.arn, t.state]),
      [[arn('flaky'), 'delivered']],
    );

    // Everything is delivered now: a plain redeliver is refused; naming the target sends it again.
    const nothing = await cli('redeliver', published.eventId);
    assert.equal(nothing.code, 2);
    assert.match(nothing.err, /^bucketflow: \S+: every target of bucketflow-\S+ was delivered; name one with --target/);
    const again = await cli('redeliver', published.eventId, '--target', arn('ok'));
    assert.equal(again.code, 0, again.err);
    await receivers.ok.waitForRequests(okBefore + 1);
  },
);

test(
  'redeliver refuses a delivery still running, and starts nothing new while a redelivery is open',
  { timeout: 120_000 },
  async () => {
    const running = await publish(buckets.running, 'a.txt');
    await receivers.down.waitForRequests(2); // the fast attempt and the first durable one: it is retrying
    const refused = await cli('redeliver', running.eventId);
    assert.equal(refused.code, 2);
    assert.match(
      refused.err,
      new RegExp(`^bucketflow: ${running.eventId}: ${running.workflowId} is still running \\(delivering\\)`),
    );
    await assert.rejects(
      engine.plainClient.temporal.workflow.getHandle(redeliveryIdOf(running.workflowId)).describe(),
      /not found/i,
    );

    const stuck = await publish(buckets.stuck, 'b.txt');
    await settled(stuck.workflowId);
    const first = await cli('redeliver', stuck.eventId);
    assert.equal(first.code, 0, first.err);
    const redelivery = engine.plainClient.temporal.workflow.getHandle(redeliveryIdOf(stuck.workflowId));
    const { runId } = await redelivery.describe();
    const second = await cli('redeliver', stuck.eventId);
    assert.equal(second.code, 2);
    assert.match(second.err, /a redelivery of bucketflow-\S+ is still running/);
    // Bulk mode selects from visibility (on a cluster, a delivery that just closed is listed a moment later).
    await listed(['--bucket', buckets.stuck, '--status', 'failed'], 1);
    const bulk = await cli('redeliver', '--status', 'failed', '--bucket', buckets.stuck);
    assert.equal(bulk.code, 0, bulk.err);
    assert.match(bulk.out, /skipped: a redelivery of bucketflow-\S+ is still running/);
    assert.equal((await redelivery.describe()).runId, runId, 'still the first redelivery');
  },
);

test(
  'a redeliver right after the delivery started is refused: the original is described, not looked up in visibility',
  { timeout: 60_000 },
  async () => {
    const running = await publish(buckets.running, 'just-started.txt');
    const ctx = redeliverContext();
    await assert.rejects(
      planSingleRedelivery(ctx, running.workflowId, {}),
      new RegExp(`${running.workflowId} is still running`),
    );
    const refused = await cli('redeliver', running.eventId);
    assert.equal(refused.code, 2);
    assert.match(refused.err, new RegExp(`^bucketflow: ${running.eventId}: ${running.workflowId} is still running`));
    await assert.rejects(
      engine.plainClient.temporal.workflow.getHandle(redeliveryIdOf(running.workflowId)).describe(),
      /not found/i,
    );
  },
);

test(
  'two operators who planned the same redelivery start it once, even after the first one finished',
  { timeout: 60_000 },
  async () => {
    const published = await publish(buckets.planned, 'twice.txt');
    await settled(published.workflowId);
    const ctx = redeliverContext();
    const [mine, theirs] = [
      await planSingleRedelivery(ctx, published.workflowId, {}),
      await planSingleRedelivery(ctx, published.workflowId, {}),
    ];
    assert.equal(mine.workflowId, redeliveryIdOf(published.workflowId));
    assert.equal(theirs.workflowId, mine.workflowId, 'the same generation planned twice');
    assert.equal(await startRedelivery(ctx, mine), true);
    const redelivery = engine.plainClient.temporal.workflow.getHandle(mine.workflowId);
    const { runId } = await redelivery.describe();
    await redelivery.result(); // delivered: the first redelivery is closed before the second start
    assert.equal(await startRedelivery(ctx, theirs), false, 'the second start is refused');
    assert.equal((await redelivery.describe()).runId, runId, 'no second run of the redelivery');
    await assert.rejects(
      engine.plainClient.temporal.workflow.getHandle(redeliveryIdOf(published.workflowId, 2)).describe(),
      /not found/i,
    );
    assert.equal(receivers.planned.requests.length, 2, 'the original and one redelivery');
  },
);

test(
  'two concurrent `redeliver` of the same failed delivery start exactly one workflow',
  { timeout: 90_000 },
  async () => {
    const published = await publish(buckets.racing, 'race.txt');
    await settled(published.workflowId);
    const results = await Promise.all([cli('redeliver', published.eventId), cli('redeliver', published.eventId)]);
    const started = results.filter((r) => r.code === 0 && /started bucketflow-\S+-redelivery/.test(r.out));
    assert.equal(started.length, 1, JSON.stringify(results));
    // The other one planned the same generation (refused at start), or saw it running, or saw it delivered.
    const other = results.find((r) => r !== started[0])!;
    assert.match(
      `${other.out}\n${other.err}`,
      /was started by another redeliver meanwhile|a redelivery of bucketflow-\S+ is still running|every target of bucketflow-\S+ was delivered/,
      JSON.stringify(other),
    );
    await settled(redeliveryIdOf(published.workflowId));
    await assert.rejects(
      engine.plainClient.temporal.workflow.getHandle(redeliveryIdOf(published.workflowId, 2)).describe(),
      /not found/i,
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(receivers.racing.requests.length, 2, 'the original and one redelivery');
  },
);

test(
  'bulk redeliver: --dry-run lists, then every failed delivery of the bucket is redelivered once',
  { timeout: 120_000 },
  async () => {
    const events = [await publish(buckets.bulk, 'one'), await publish(buckets.bulk, 'two')];
    for (const e of events) await settled(e.workflowId);
    await listed(['--bucket', buckets.bulk, '--status', 'failed'], 2);

    const dry = await cli(
      'redeliver',
      '--status',
      'failed',
      '--bucket',
      buckets.bulk,
      '--since',
      '1h',
      '--dry-run',
      '--json',
    );
    assert.equal(dry.code, 0, dry.err);
    const planned = JSON.parse(dry.out) as Array<{ original: string; action: string }>;
    assert.deepEqual(planned.map((p) => p.original).sort(), events.map((e) => e.workflowId).sort());
    assert.ok(planned.every((p) => p.action.startsWith('would start')));
    assert.equal(receivers.bulk.requests.length, 2);

    const run = await cli('redeliver', '--status', 'failed,partial', '--bucket', buckets.bulk, '--target', arn('bulk'));
    assert.equal(run.code, 0, run.err);
    assert.equal(run.out.split('\n').filter((line) => /started bucketflow-/.test(line)).length, 2);
    await receivers.bulk.waitForRequests(4);
    const ids = receivers.bulk.requests
      .slice(2)
      .map((r) => r.headers['x-bucketflow-event-id'])
      .sort();
    assert.deepEqual(ids, events.map((e) => e.eventId).sort());
    for (const e of events) await settled(redeliveryIdOf(e.workflowId));
    // The originals still say failed; their redeliveries now say delivered, so a second bulk run has nothing to do.
    await listed(['--bucket', buckets.bulk, '--status', 'delivered'], 2);
    const rerun = await cli('redeliver', '--status', 'failed', '--bucket', buckets.bulk);
    assert.equal(rerun.out.split('\n').filter((line) => /skipped: every target/.test(line)).length, 2, rerun.out);
  },
);

test('bad input: one line naming the argument, exit 2, nothing started', { timeout: 60_000 }, async () => {
  const unknownId = eventIdentity(
    deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket: 'nowhere', key: 'x' }).record,
  );
  const cases: Array<[string[], RegExp]> = [
    [
      ['deliveries', 'show', unknownId],
      new RegExp(
        `^bucketflow: ${unknownId}: unknown delivery bucketflow-${unknownId} \\(nor a batch holding event ${unknownId}\\)$`,
      ),
    ],
    [['deliveries', 'show', 'nonsense'], /^bucketflow: nonsense: "nonsense" is not an event id/],
    [['deliveries', 'show', 'nobucket/nokey'], /^bucketflow: nobucket\/nokey: no delivery of object nobucket\/nokey$/],
    [['deliveries', 'list', '--status', 'lost'], /^bucketflow: --status: unknown status "lost"/],
    [['deliveries', 'list', '--since', 'yesterday'], /^bucketflow: --since: expected a duration/],
    [
      ['deliveries', 'list', '--target', arn('nope')],
      /^bucketflow: --target: unknown ARN arn:minio:sqs:us-east-1:nope:webhook/,
    ],
    [['deliveries', 'list', '--limit', '0'], /^bucketflow: --limit: expected a positive integer/],
    [['redeliver', unknownId], new RegExp(`^bucketflow: ${unknownId}: unknown delivery`)],
    [
      ['redeliver', '--status', 'delivered'],
      /^bucketflow: --status: redeliver takes failed or partial deliveries, not "delivered"$/,
    ],
    [['redeliver', '--status', 'failed', '--since', '3 days'], /^bucketflow: --since: /],
    [['redeliver'], /^bucketflow: redeliver: name a delivery/],
    [['redeliver', unknownId, '--target', arn('nope')], /^bucketflow: --target: unknown ARN/],
  ];
  const results = await Promise.all(cases.map(([args]) => cli(...args))); // refused, each on its own: side by side
  for (const [n, [args, message]] of cases.entries()) {
    const result = results[n];
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.err}`);
    assert.equal(result.err.split('\n').filter((l) => !l.startsWith('{')).length, 1, result.err);
    assert.match(result.err.split('\n').at(-1)!, message, args.join(' '));
  }
});
