// A worker for workflow tests with mocked activities (Temporal's samples style): the real workflow bundle on
// the stack's Temporal server, on a task queue of its own, with the activities the test scripts. Registers
// its own before/after hooks (skipped with the file's tests, which need('temporal'), when Temporal is down); `client`
// is usable inside tests. The workflows' sink calls land nowhere (no admission).
import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { endpoints } from '../../scripts/stack/endpoints';
import { deliverySinks } from '../../src/engine/worker';
import { loadWorkflowBundle } from '../../src/engine/workflow-bundle';
import { needs } from './needs';

export interface MockedWorker {
  readonly taskQueue: string;
  /** A client on the worker's connection (set once `before` ran). */
  readonly client: Client;
}

export function mockedWorker(activities: object, prefix: string): MockedWorker {
  // The hooks of a file that needs the stack's Temporal: they do not run when it is down and the tests skip.
  const { before, after } = needs('temporal');
  const taskQueue = `${prefix}-${randomUUID()}`;
  let connection: NativeConnection;
  let worker: Worker;
  let running: Promise<void>;
  let client: Client | undefined;
  before(async () => {
    connection = await NativeConnection.connect({ address: endpoints.temporal });
    worker = await Worker.create({
      connection,
      taskQueue,
      workflowBundle: await loadWorkflowBundle(),
      activities,
      sinks: deliverySinks(),
    });
    running = worker.run();
    client = new Client({ connection });
  });
  after(async () => {
    worker.shutdown();
    await running;
    await connection.close();
  });
  return {
    taskQueue,
    get client() {
      if (!client) throw new Error('mockedWorker: the client is ready once before() ran');
      return client;
    },
  };
}
