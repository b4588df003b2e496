// `npm run bench:faults`: duplicates at message targets through the faults production meets, in one stream
// of events: a worker killed with SIGKILL (and a new one started, as an orchestrator would), Temporal
// unreachable for ~20 s (a loopback proxy cut), a webhook down for 10 s, Redis unreachable for 15 s. An
// ingest (`npm run ingest`) and two workers (`npm run worker`) reach Temporal through the proxy; a sender
// posts every event until accepted, as MinIO does. Counts every event's requests at the two webhooks.
// The workers share the record of their sends (src/state/sent-log.ts) through the data dir: what the killed
// worker had sent is not sent again by the worker that takes its tasks over; what it had in flight is.
// Settings (env): BENCH_FAULT_EVENTS (default 600), BENCH_FAULT_RATE (events/s, default 15).
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { endpoints } from '../scripts/stack/endpoints';
import { buildEvent } from '../src/events';
import { FileStateStore } from '../src/state';
import { EVENT_ID_HEADER } from '../src/targets/common';
import { freePort } from '../test/helpers/dev-server';
import { Receiver } from '../test/helpers/receiver';
import { TcpProxy } from '../test/helpers/tcp-proxy';
import { startEntry, type Child } from './processes';

const EVENTS = Number(process.env.BENCH_FAULT_EVENTS ?? 600);
const RATE = Number(process.env.BENCH_FAULT_RATE ?? 15);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const bucket = `faults-${randomUUID().slice(0, 8)}`;

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bucketflow-faults-'));
  const [temporalHost, temporalPort] = endpoints.temporal.split(':');
  const [redisHost, redisPort] = endpoints.redis.split(':');
  const temporal = await TcpProxy.start({ host: temporalHost, port: Number(temporalPort) });
  const redis = await TcpProxy.start({ host: redisHost, port: Number(redisPort) });
  const steady = await Receiver.start([], 200, { delayMs: 300 });
  let flaky = await Receiver.start();
  const flakyPort = Number(new URL(flaky.url).port);
  const flakyRequests: string[] = [];
  const notify = {
    webhook: { steady: { enable: true, endpoint: steady.url }, flaky: { enable: true, endpoint: flaky.url } },
    redis: { '1': { enable: true, address: redis.address, key: `bucketflow-faults-${bucket}`, format: 'access' } },
  };
  const configFile = path.join(dir, 'config.json');
  await writeFile(configFile, JSON.stringify({ notify }));
  const store = new FileStateStore(dir);
  const arns = [
    'arn:minio:sqs:us-east-1:steady:webhook',
    'arn:minio:sqs:us-east-1:flaky:webhook',
    'arn:minio:sqs:us-east-1:1:redis',
  ];
  await store.put(
    bucket,
    arns.map((arn, i) => ({ id: String(i), arn, events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' })),
  );
  await store.close();
  const ingestPort = await freePort();
  const env = {
    TEMPORAL_ADDRESS: temporal.address,
    BUCKETFLOW_CONFIG: configFile,
    BUCKETFLOW_DATA_DIR: dir,
    BUCKETFLOW_TASK_QUEUE: `faults-${randomUUID()}`,
    BUCKETFLOW_INGEST_PORT: String(ingestPort),
  };
  const workers: Child[] = [startEntry('worker', env), startEntry('worker', env)];
  const ingest = startEntry('ingest', env);
  await Promise.all([...workers.map((w) => w.waitFor('worker started')), ingest.waitFor('ingest listening')]);

  let sent = 0;
  const posting: Array<Promise<void>> = [];
  const post = async (body: string) => {
    for (;;) {
      const status = await fetch(`http://127.0.0.1:${ingestPort}/`, { method: 'POST', body }).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 202) return;
      await sleep(500);
    }
  };
  const stream = setInterval(() => {
    if (sent >= EVENTS) return clearInterval(stream);
    const record = buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key: `object-${sent++}` });
    posting.push(post(JSON.stringify({ Records: [record] })));
  }, 1000 / RATE);
  const at = (seconds: number) => sleep(Math.max(0, started + seconds * 1000 - Date.now()));
  const started = Date.now();
  const faults = (async () => {
    await at(6);
    const killed = workers[0].process;
    const exited = new Promise((resolve) => killed.once('exit', (_code, signal) => resolve(signal)));
    killed.kill('SIGKILL');
    console.log(`worker 1 ended by ${await exited}; another started`);
    workers.push(startEntry('worker', env));
    await at(9);
    console.log('Redis unreachable for 15 s');
    await redis.down();
    await at(12);
    console.log('Temporal unreachable for 20 s');
    await temporal.down();
    await at(16);
    console.log('webhook "flaky" down for 10 s');
    flakyRequests.push(...flaky.requests.map((r) => String(r.headers[EVENT_ID_HEADER.toLowerCase()])));
    await flaky.close();
    await at(24);
    await redis.up();
    await at(26);
    flaky = await Receiver.start([], 200, { port: flakyPort });
    await at(32);
    await temporal.up();
    console.log('all faults over');
  })();
  await faults;
  while (sent < EVENTS) await sleep(200);
  await Promise.all(posting);
  console.log(
    `${sent} events accepted after ${((Date.now() - started) / 1000).toFixed(0)} s; waiting for every delivery`,
  );
  const ids = (receiver: Receiver) => receiver.requests.map((r) => String(r.headers[EVENT_ID_HEADER.toLowerCase()]));
  const deadline = Date.now() + 180_000;
  while (
    Date.now() < deadline &&
    (new Set(ids(steady)).size < sent || new Set([...flakyRequests, ...ids(flaky)]).size < sent)
  )
    await sleep(1000);
  await sleep(15_000); // re-run tasks and retries that are still due
  for (const [name, received] of [
    ['steady', ids(steady)],
    ['flaky', [...flakyRequests, ...ids(flaky)]],
  ] as const) {
    const distinct = new Set(received).size;
    const duplicates = received.length - distinct;
    console.log(
      `webhook ${name}: ${sent} events, ${distinct} arrived, ${duplicates} duplicates (${((100 * duplicates) / sent).toFixed(1)}%)`,
    );
  }
  // Which fault each duplicate followed: when its first copy reached the steady webhook (s after the start).
  const first = new Map<string, number>();
  const copies = new Map<string, number>();
  for (const request of steady.requests) {
    const id = String(request.headers[EVENT_ID_HEADER.toLowerCase()]);
    if (!first.has(id)) first.set(id, (request.receivedAt - started) / 1000);
    copies.set(id, (copies.get(id) ?? 0) + 1);
  }
  const when = [...copies].filter(([, n]) => n > 1).map(([id]) => first.get(id)!.toFixed(1));
  console.log(
    `steady webhook's duplicates, first copy at (s): ${when.join(' ') || 'none'} (SIGKILL at 6, Temporal cut 12-32)`,
  );
  for (const child of [...workers.slice(1), ingest]) await child.stop();
  await Promise.all([temporal.down(), redis.down(), steady.close(), flaky.close()]);
  await rm(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
