// Records delivery histories for the replay test (test/unit/replay.test.ts): every outcome the delivery
// workflow can reach, run on the stack's Temporal server. Histories of a released workflow version are
// kept as they are; record the current version again only after a deliberate, compatible change.
//   node --import tsx scripts/record-histories.ts <out dir> [prefix]
// With the prefix deliverBatch it records batch workflows instead: one delivered whole, one whose event continued.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { buildEvent } from '../src/events';
import { DELIVER_BATCH } from '../src/delivery/workflow-types';
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
  };
  const bucket = uniqueBucket('replay');
  const retry = { retry_initial_interval: '100ms', retry_max_interval: '1s', fast_retry_interval: '10ms' };
  const engine = await startEngine({
    notify: {
      webhook: Object.fromEntries(
        Object.entries(receivers).map(([id, r]) => [
          id,
          { enable: true, endpoint: r.url, ...retry, ...(id === 'refused' ? { dead_letter: arn('dlq') } : {}) },
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
