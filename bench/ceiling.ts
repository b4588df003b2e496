// The ceiling: what the same Temporal server does per event when there is nothing to deliver. An empty
// workflow, started eagerly by a worker in this same process, behind an HTTP endpoint that parses the
// body as the ingest does. Run as a child of bench/run.ts. Env: TEMPORAL_ADDRESS, BENCH_TASK_QUEUE,
// BENCH_PORT, BENCH_RECEIVER_URL.
import { createServer } from 'node:http';
import { Client } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { eventIdentity, parseIncomingEvents } from '../src/events';
import { EVENT_ID_HEADER } from '../src/targets/common';
import { workflowIdFor } from '../src/publish/publisher';
import { loadSettings } from '../src/settings';
import type { emptyWorkflow } from './ceiling-workflow';

async function main() {
  const { TEMPORAL_ADDRESS, BENCH_TASK_QUEUE: taskQueue, BENCH_PORT, BENCH_RECEIVER_URL: receiverUrl } = process.env;
  const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./ceiling-workflow'),
    logger: quiet,
  });
  const connection = await NativeConnection.connect({ address: TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    taskQueue: taskQueue!,
    workflowBundle,
    ...loadSettings().tuning, // the same worker settings as bucketflow's
    sinks: {
      bench: {
        ran: {
          fn: (_info, eventId: string) =>
            void fetch(receiverUrl!, { method: 'POST', headers: { [EVENT_ID_HEADER]: eventId }, body: '' }),
          callDuringReplay: false,
        },
      },
    },
  });
  const client = new Client({ connection });

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      try {
        const records = parseIncomingEvents(JSON.parse(Buffer.concat(chunks).toString()));
        await Promise.all(
          records.map((record) => {
            const eventId = eventIdentity(record);
            return client.workflow.start<typeof emptyWorkflow>('emptyWorkflow', {
              taskQueue: taskQueue!,
              workflowId: workflowIdFor(eventId),
              args: [eventId],
              requestEagerStart: true,
            });
          }),
        );
        res.writeHead(202).end();
      } catch (err) {
        res.writeHead(503).end(String(err));
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(Number(BENCH_PORT), '127.0.0.1', resolve));
  process.once('SIGTERM', () => {
    server.close();
    worker.shutdown();
  });
  console.log('ceiling ready');
  await worker.run();
  await connection.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
