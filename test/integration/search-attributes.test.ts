// Any Temporal server: the ingest and the worker add bucketflow's search attributes to a namespace that
// lacks them (a second dev server started without --search-attribute), and a delivery then starts and
// completes there. Where the server refuses, the worker exits 1 printing the exact CLI commands.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { indexedValueType } from '../../src/temporal/register-search-attributes';
import { SEARCH_ATTRIBUTES } from '../../src/delivery/search-attributes';
import { withTimeout } from '../../src/errors';
import { freePort, startDevServer, type DevServer } from '../helpers/dev-server';
import { deliveryOf } from '../helpers/records';
import { needs } from '../helpers/needs';

const { after, before, test } = needs('temporal-cli');

const root = path.resolve(__dirname, '../..');
/** How long the refused worker may take to exit: a deadline of its own, well inside the test's. */
const EXIT_DEADLINE_MS = 60_000;
let dir: string;
/** Everything a test starts, stopped in after() even when the test timed out (its own finally never runs then). */
const running: Array<{ stop(): Promise<void> }> = [];
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bucketflow-search-attributes-'));
});
after(async () => {
  for (const started of running.reverse()) await started.stop();
  await rm(dir, { recursive: true, force: true });
});

async function devServer(searchAttributes?: Record<string, string>): Promise<DevServer> {
  const server = await startDevServer(searchAttributes);
  running.push(server);
  return server;
}

interface Started {
  /** Resolves with the log lines seen until `until` matched, or rejects when the process exits first. */
  ready: Promise<string[]>;
  exit: Promise<{ code: number | null; stderr: string }>;
  stop(): Promise<void>;
}

function startEntryPoint(script: string, server: DevServer, until: RegExp, env: Record<string, string> = {}): Started {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: root,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: server.address,
      BUCKETFLOW_DATA_DIR: dir,
      BUCKETFLOW_CONFIG: '',
      BUCKETFLOW_TASK_QUEUE: 'sa-test',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stderr })),
  );
  const ready = new Promise<string[]>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d;
      if (until.test(stderr)) resolve(stderr.split('\n'));
    });
    void exit.then(({ code }) => reject(new Error(`${script} exited ${code} before ${until}: ${stderr}`)));
  });
  ready.catch(() => {});
  const started = {
    ready,
    exit,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exit;
    },
  };
  running.push(started);
  return started;
}

async function customAttributes(address: string) {
  const connection = await Connection.connect({ address });
  try {
    return (await connection.operatorService.listSearchAttributes({ namespace: 'default' })).customAttributes ?? {};
  } finally {
    await connection.close();
  }
}

test(
  'on a server without them, the ingest adds the search attributes and a delivery starts and completes',
  { timeout: 120_000 },
  async () => {
    const server = await devServer();
    const before = await customAttributes(server.address);
    for (const name of Object.keys(SEARCH_ATTRIBUTES)) assert.equal(name in before, false, `${name} absent at first`);

    const port = await freePort();
    const ingest = startEntryPoint('src/ingest/main.ts', server, /ingest listening/, {
      BUCKETFLOW_INGEST_PORT: String(port),
    });
    const ingestLog = await ingest.ready;
    assert.ok(
      ingestLog.some((line) => line.includes('search attributes added')),
      'the ingest logs what it added',
    );
    const added = await customAttributes(server.address);
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES))
      assert.equal(added[name], indexedValueType(type), name);

    // The worker finds them in place and adds nothing.
    const worker = startEntryPoint('src/worker/main.ts', server, /worker started/);
    const workerLog = await worker.ready;
    assert.equal(
      workerLog.some((line) => line.includes('search attributes added')),
      false,
    );

    const response = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      body: JSON.stringify({
        Records: [deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket: 'sa-bucket', key: 'a.txt' }).record],
      }),
    });
    assert.equal(response.status, 202, await response.clone().text());
    const { accepted } = (await response.json()) as { accepted: Array<{ workflowId: string }> };
    const connection = await Connection.connect({ address: server.address });
    try {
      const result = await new Client({ connection }).workflow.getHandle(accepted[0].workflowId).result();
      assert.equal(result.status, 'no-targets');
    } finally {
      await connection.close();
    }
  },
);

test(
  'where the server refuses to add them, the worker exits 1 printing the exact temporal commands',
  { timeout: 120_000 },
  async () => {
    // A namespace whose KeywordList quota (3 on SQL visibility) is used up refuses BucketflowTargets and
    // BucketflowFailedTargets, as a server that does not permit the operator API would.
    const server = await devServer({ Other1: 'KeywordList', Other2: 'KeywordList', Other3: 'KeywordList' });
    const worker = startEntryPoint('src/worker/main.ts', server, /worker started/);
    const { code, stderr } = await withTimeout(worker.exit, EXIT_DEADLINE_MS, 'the refused worker exiting');
    assert.equal(code, 1);
    const commands = stderr
      .split('\n')
      .filter((line) => line.trim().startsWith('temporal operator search-attribute create'));
    assert.deepEqual(
      commands.map((line) => line.trim()),
      Object.entries(SEARCH_ATTRIBUTES).map(
        ([name, type]) => `temporal operator search-attribute create --namespace default --name ${name} --type ${type}`,
      ),
    );
    assert.match(stderr, /cannot have more than 3 search attribute of type KeywordList/);
  },
);
