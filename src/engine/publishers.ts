// How events reach Temporal from each process kind: a worker's publisher (shares the worker's connection, matches
// the rules where the event is accepted, starts eagerly on this worker), an ingest-only process's publisher (a
// connection of its own that notices Temporal's return within a second and is made even while Temporal is down),
// and the Kafka source's publish (admission control makes a fetch wait instead of refusing it).
import { Client, Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { DeliveryAdmission } from '../publish/admission';
import { BucketflowClient } from '../publish/publisher';
import { resolveTargets, type RulesSource } from '../rules/resolve';
import type { Settings } from '../settings';
import type { PublishEvents } from '../sources/kafka';
import type { TargetPool } from '../targets/pool';
import { connectionOptions } from '../temporal/connection';
import { FAST_RECONNECT_CHANNEL_ARGS } from '../temporal/reachability';
import { clientTracingInterceptors } from '../telemetry/tracing';

/**
 * A publisher sharing the worker's connection: it matches the rules where the event is accepted and asks
 * for eager start, so the server hands the first workflow task straight back to this worker.
 */
export function workerPublisher(
  connection: NativeConnection,
  settings: Settings,
  deps: { state: RulesSource; targets: TargetPool },
): BucketflowClient {
  return new BucketflowClient(
    new Client({ connection, namespace: settings.namespace, interceptors: clientTracingInterceptors() }),
    {
      taskQueue: settings.taskQueue,
      fastPath: settings.fastPath,
      batch: settings.batch,
      resolveTargets: (record) => resolveTargets(deps.state, (arn) => deps.targets.retryFor(arn), record),
      eagerStart: true,
    },
  );
}

/**
 * A publisher whose connection notices Temporal's return within a second and that starts even while Temporal
 * is down (the ingest then answers 503 until it is back). No worker here: the workflow matches the rules itself.
 */
export function ingestPublisher(settings: Settings): BucketflowClient {
  const connection = Connection.lazy({ ...connectionOptions(settings), channelArgs: FAST_RECONNECT_CHANNEL_ARGS });
  return new BucketflowClient(
    new Client({ connection, namespace: settings.namespace, interceptors: clientTracingInterceptors() }),
    { taskQueue: settings.taskQueue, fastPath: settings.fastPath, batch: settings.batch },
    connection,
  );
}

/**
 * The Kafka source's publish in a worker: bound like the ingest, but a full worker makes the fetch wait (the backlog
 * stays in Kafka) instead of refusing it, and a fetch larger than the bound goes in parts of the bound.
 */
export function sourcePublisher(admission: DeliveryAdmission, publisher: BucketflowClient): PublishEvents {
  return async (events, waitForRoom) =>
    (await admission.publishWhenRoom(events, (part) => publisher.publishParsed([...part]), waitForRoom)) !== undefined;
}
