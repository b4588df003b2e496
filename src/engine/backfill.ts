// What a worker's backfill activities (activities/backfill.ts) run on, assembled once per engine: S3 access per
// endpoint (src/s3, configured from the engine's AWS_* environment; the SDK loads on the first backfill only), a
// publisher of its own in the high-volume mode (batches of BUCKETFLOW_BACKFILL_BATCH_EVENTS, started eagerly on
// this worker, whatever BUCKETFLOW_BATCH_MAX_EVENTS says for the ingest), held against the worker's admission
// bound like the ingest and the Kafka source, and the batches' results read back from Temporal.
import { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { BackfillDeps } from '../../activities/deps';
import { loadS3Settings } from '../settings/s3';
import type { BatchResult } from '../delivery/types';
import type { DeliveryAdmission } from '../publish/admission';
import { BucketflowClient } from '../publish/publisher';
import { openS3, type S3Access } from '../s3/client';
import type { Settings } from '../settings';
import { clientTracingInterceptors } from '../telemetry/tracing';

/** A chunk waiting for room asks whether to keep waiting (a cancelled backfill does not) at least this often. */
const ROOM_WAIT_MS = 1_000;

export interface EngineBackfill extends BackfillDeps {
  /** Closes the S3 clients opened. */
  close(): Promise<void>;
}

export function engineBackfill(
  connection: NativeConnection,
  settings: Settings,
  admission: DeliveryAdmission,
  env: NodeJS.ProcessEnv,
): EngineBackfill {
  const client = new Client({ connection, namespace: settings.namespace, interceptors: clientTracingInterceptors() });
  // A chunk is one batch: no larger than the bound, or it could never be admitted whole.
  const batchEvents =
    admission.max > 0
      ? Math.max(2, Math.min(settings.backfill.batchEvents, admission.max))
      : settings.backfill.batchEvents;
  const publisher = new BucketflowClient(client, {
    taskQueue: settings.taskQueue,
    batch: { maxEvents: batchEvents, maxWaitMs: 0, dedupeWindowMs: settings.batch.dedupeWindowMs },
    eagerStart: true,
  });
  const opened = new Map<string, { access: S3Access; region: string }>();
  return {
    batchEvents,
    s3(endpoint) {
      const key = endpoint ?? '';
      let entry = opened.get(key);
      if (!entry) {
        const s3 = loadS3Settings(env, endpoint === undefined ? {} : { endpoint, endpointField: '--endpoint' });
        entry = { access: openS3(s3), region: s3.region };
        opened.set(key, entry);
      }
      return entry;
    },
    // Waiting for room wakes when the worker lets deliveries go (or every second, to ask keepWaiting again).
    publish: (events, lane, keepWaiting) =>
      admission.publishWhenRoom(
        events,
        (part) => publisher.publishParsed([...part], { lane }),
        async () => {
          await admission.nextRelease(ROOM_WAIT_MS);
          return keepWaiting();
        },
      ),
    batchResult: (workflowId) => client.workflow.getHandle(workflowId).result() as Promise<BatchResult>,
    async close() {
      for (const { access } of opened.values()) access.close();
      opened.clear();
    },
  };
}
