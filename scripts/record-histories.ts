// Records delivery histories for the replay test (test/unit/replay.test.ts): every outcome the delivery
// workflow can reach, run on the stack's Temporal server. Histories of a released workflow version are
// kept as they are; record the current version again only after a deliberate, compatible change.
//   node --import tsx scripts/record-histories.ts <out dir> [prefix]
// With the prefix deliverBatch it records batch workflows instead: one delivered whole, one whose event continued.
// With the prefix deliverKeyOrdered, per-key order's workflow: one object's events published newest first, delivered
// in sequencer order to an `order: key` target (its history is recorded while the run waits, idle, for more).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { buildEvent } from '../src/events';
import { DELIVER_BATCH, DELIVER_KEY_ORDERED } from '../src/delivery/workflow-types';
import { KEY_ORDER_PROGRESS_QUERY, type KeyOrderProgress } from '../src/delivery/key-order';
import { keyOrderWorkflowId } from '../src/publish/publisher';
import { startEngine, uniqueBucket } from '../test/helpers/engine';
import { Receiver } from '../test/helpers/receiver';

const arn = (id: string) => `arn:minio:sqs:us-east-1:${id}:webhook`;

/** Proto JSON as `temporal workflow show --output json` writes it (enums by name, 64-bit ints and bytes as strings). */
export function historyJson(history: temporal.api.history.v1.IHistory): string {
  const { History } = temporal.api.history.v1;
  return (
    JSON.stringify(
      History.toObject(History.fromObject(history), { longs: String, enums: String, bytes: String }),
      null,
      1,
    ) + '\n'
  );
}

async function main() {
  const [outDir, prefix = 'deliverEventV3'] = process.argv.slice(2);
  if (!outDir) throw new Error('usage: record-histories.ts <out dir> [file name prefix]');
  const receivers = {
    ok: await Receiver.start(),
    // Each variant below sends one event per receiver: the scripts replay the failures for each.
    flaky: await Receiver.start([503, 503, 200, 503, 503]),
    stubborn: await Receiver.start([503, 503, 503, 503, 200, 503, 503, 503, 503]),
    rejecting: await Receiver.start([], 400),
    // Refuses for good, its dead letter (`dlq`) takes the event and its failure: the dead-letter scenario.
    refused: await Receiver.start([], 400),
    dlq: await Receiver.start(),
    // `order: key` (folder ordered/): the per-key order scenario.
    ordered: await Receiver.start(),
  };
  const bucket = uniqueBucket('replay');
  const retry = { retry_initial_interval: '100ms', retry_max_interval: '1s', fast_retry_interval: '10ms' };
  const engine = await startEngine({
    notify: {
      webhook: Object.fromEntries(
        Object.entries(receivers).map(([id, r]) => [
          id,
          {
            enable: true,
            endpoint: r.url,
            ...retry,
            ...(id === 'refused' ? { dead_letter: arn('dlq') } : {}),
            ...(id === 'ordered' ? { order: 'key', order_window: '300ms' } : {}),
          },
        ]),
      ),
    },
    rules: {
      [bucket]: Object.keys(receivers)
        .map((id) => ({ id, arn: arn(id), events: ['s3:ObjectCreated:*'], prefix: `${id}/`, suffix: '' }))
        .concat(
          ['ok', 'rejecting'].map((id) => ({
            id: `mixed-${id}`,
            arn: arn(id),
            events: ['s3:ObjectCreated:*'],
            prefix: 'mixed/',
            suffix: '',
          })),
        ),
    },
    ...(prefix === DELIVER_BATCH ? { batch: { maxEvents: 10 } } : {}),
  });
  await mkdir(outDir, { recursive: true });
  if (prefix === DELIVER_BATCH) {
    const batches: Record<string, string[]> = {
      delivered: ['ok/a.jpg', 'ok/b.jpg', 'ok/c.jpg'],
      continued: ['ok/d.jpg', 'mixed/e.jpg'],
    };
    for (const [scenario, keys] of Object.entries(batches)) {
      // One body of several records: one publish, one batch.
      const records = keys.map((key) => buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key, size: 1 }));
      const [published] = await engine.client.publish({ Records: records });
      const handle = engine.client.temporal.workflow.getHandle(published.workflowId);
      await handle.result();
      const file = path.join(outDir, `${prefix}-${scenario}.json`);
      await writeFile(file, historyJson(await handle.fetchHistory()));
      console.log(`recorded ${file}`);
    }
    await engine.stop();
    await Promise.all(Object.values(receivers).map((r) => r.close()));
    return;
  }
  if (prefix === DELIVER_KEY_ORDERED) {
    const key = 'ordered/a.jpg';
    const records = [0, 1, 2, 3].map((n) =>
      buildEvent({
        eventName: 's3:ObjectCreated:Put',
        bucket,
        key,
        size: n + 1,
        sequencer: (0x17f0a1b2c3d40000n + BigInt(n)).toString(16).toUpperCase(),
      }),
    );
    await engine.client.publish({ Records: records.reverse() });
    const handle = engine.client.temporal.workflow.getHandle(keyOrderWorkflowId(arn('ordered'), bucket, key));
    for (let tries = 0; (await handle.query<KeyOrderProgress>(KEY_ORDER_PROGRESS_QUERY)).delivered < 4; tries++) {
      if (tries > 300) throw new Error('the ordered events were not delivered within a minute');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const file = path.join(outDir, `${prefix}-delivered.json`);
    await writeFile(file, historyJson(await handle.fetchHistory()));
    console.log(`recorded ${file}`);
    await handle.terminate('recorded');
    await engine.stop();
    await Promise.all(Object.values(receivers).map((r) => r.close()));
    return;
  }
  // Files a test replays: <prefix>[-plain]-<scenario>.json; the object key's folder picks the rules.
  const scenarios: Record<string, string> = {
    delivered: 'ok',
    retried: 'flaky',
    durable: 'stubborn',
    partial: 'mixed',
    failed: 'rejecting',
    'no-targets': 'none',
    'dead-letter': 'refused',
  };
  const clients = {
    '': engine.client,
    ...('plainClient' in engine ? { '-plain': (engine as { plainClient: typeof engine.client }).plainClient } : {}),
  };
  for (const [variant, client] of Object.entries(clients)) {
    for (const [scenario, folder] of Object.entries(scenarios)) {
      const [published] = await client.publish(
        buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key: `${folder}/a${variant}.jpg`, size: 1 }),
      );
      const handle = engine.client.temporal.workflow.getHandle(published.workflowId);
      await handle.result().catch(() => undefined); // a failed delivery fails the workflow
      const file = path.join(outDir, `${prefix}${variant}-${scenario}.json`);
      await writeFile(file, historyJson(await handle.fetchHistory()));
      console.log(`recorded ${file}`);
    }
  }
  await engine.stop();
  await Promise.all(Object.values(receivers).map((r) => r.close()));
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
