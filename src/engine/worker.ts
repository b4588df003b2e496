// The Temporal worker of an engine: the workflow bundle, the activities built over the engine's dependencies,
// and the sinks through which the delivery workflows tell admission control that a delivery no longer needs this
// worker's memory. Events a batch could not deliver everywhere continue as per-event deliveries, started
// eagerly on this worker and held by admission control like any other; events for targets with `order: key` matched
// inside a workflow are handed to per-key order's workflows through the same client.
import { Client } from '@temporalio/client';
import { NativeConnection, Worker, type InjectedSinks, type WorkerOptions } from '@temporalio/worker';
import type { WorkflowInfo } from '@temporalio/workflow';
import { createActivities, type ActivityDeps } from '../../activities';
import { DELIVER_BATCH } from '../delivery/workflow-types';
import type { DeliverInput, DeliverySinks } from '../delivery/types';
import type { DeliveryAdmission } from '../publish/admission';
import { BucketflowClient, workflowIdFor } from '../publish/publisher';
import type { Settings } from '../settings';
import { clientTracingInterceptors, tracingEnabled, workerTracingOptions } from '../telemetry/tracing';
import { loadWorkflowBundle } from './workflow-bundle';

export async function createWorker(
  connection: NativeConnection,
  settings: Settings,
  deps: Omit<ActivityDeps, 'continueDelivery' | 'handOffOrdered'> & { admission: DeliveryAdmission },
  extra: Partial<WorkerOptions> = {},
): Promise<Worker> {
  const continuer = new BucketflowClient(
    new Client({ connection, namespace: settings.namespace, interceptors: clientTracingInterceptors() }),
    {
      taskQueue: settings.taskQueue,
      eagerStart: true,
    },
  );
  return Worker.create({
    connection,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    activities: createActivities({
      ...deps,
      continueDelivery: (input) => continueCounted(continuer, deps.admission, input),
      handOffOrdered: (target, event) => continuer.handOffOrdered(target, event),
    }),
    sinks: deliverySinks(deps.admission),
    workflowBundle: extra.workflowBundle ?? (await loadWorkflowBundle({ traced: tracingEnabled() })),
    ...settings.tuning,
    ...workerTracingOptions(),
    ...extra,
  });
}

/**
 * An event a batch continues in its own delivery counts against admission from before that delivery's start
 * until its fast path is over (its own sink call), like any per-event delivery; not when it existed already.
 */
async function continueCounted(
  continuer: BucketflowClient,
  admission: DeliveryAdmission,
  input: DeliverInput,
): Promise<string> {
  const workflowId = workflowIdFor(input.eventId);
  admission.hold(workflowId);
  const started = await continuer.continueFromBatch(input).catch((err: unknown) => {
    admission.released(workflowId);
    throw err;
  });
  // A duplicate is not held; nor, in the rare case it took an id of its batch's (continueFromBatch), is the
  // continuation: the hold was taken on the event's own id, which its sink will not report.
  if (started.duplicate || started.workflowId !== workflowId) admission.released(workflowId);
  return started.workflowId;
}

/**
 * Where the delivery workflows' sink calls land: a fast path that ended (a batch's first task, for a batch) no
 * longer counts against admission. Also for replays (no admission).
 */
export function deliverySinks(admission?: DeliveryAdmission): InjectedSinks<DeliverySinks> {
  const fastPathOver = (info: WorkflowInfo) =>
    info.workflowType === DELIVER_BATCH ? admission?.batchOver(info.workflowId) : admission?.released(info.workflowId);
  return { deliveries: { fastPathOver: { fn: fastPathOver, callDuringReplay: false } } };
}
