// Reading a delivery's history as an auditor would: the fast path's local-activity markers and the
// durable path's activity events.
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

export type History = Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>;

export interface LocalActivityAttempt {
  activityType: string;
  /** The failure message, absent for an attempt that succeeded. */
  error?: string;
  /** The overall attempt number the deliver activity put in its failure details. */
  attempt?: number;
}

/** One entry per local activity marker, in history order. */
export function localActivityAttempts(history: History): LocalActivityAttempt[] {
  return (history.events ?? []).flatMap((event) => {
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_local_activity') return [];
    const data = defaultPayloadConverter.fromPayload<{ activity_type: string }>(marker.details!.data!.payloads![0]);
    const details = marker.failure?.applicationFailureInfo?.details?.payloads?.[0];
    const attempt = details ? defaultPayloadConverter.fromPayload<{ attempt?: number }>(details).attempt : undefined;
    return [
      { activityType: data.activity_type, ...(marker.failure ? { error: marker.failure.message ?? '', attempt } : {}) },
    ];
  });
}

/** Event types by name (`WORKFLOW_TASK_COMPLETED`), without the EVENT_TYPE_ prefix. */
export function eventTypes(history: History): string[] {
  return (history.events ?? []).map((event) =>
    temporal.api.enums.v1.EventType[event.eventType!].replace(/^EVENT_TYPE_/, ''),
  );
}
