// Custom search attributes every delivery workflow sets, so operators find any delivery in the Web UI
// or with `temporal workflow list --query`. This list is the one home: the stack passes it to the dev
// server, and the worker and the ingest add what a namespace lacks at start
// (src/temporal/register-search-attributes.ts).
// Workflow code imports this file: keep it free of client/worker imports.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SEARCH_ATTRIBUTES = {
  BucketflowBucket: 'Keyword',
  BucketflowKey: 'Keyword',
  BucketflowEvent: 'Keyword',
  BucketflowTargets: 'KeywordList',
  BucketflowFailedTargets: 'KeywordList',
  BucketflowStatus: 'Keyword',
  BucketflowRedeliveryOf: 'Keyword',
  BucketflowSource: 'Keyword',
  BucketflowBatch: 'Keyword',
  BucketflowBatchEvents: 'Text',
  BucketflowBatchObjects: 'Text',
} as const;

export type SearchAttributeName = keyof typeof SEARCH_ATTRIBUTES;

export const searchKeys = {
  bucket: defineSearchAttributeKey('BucketflowBucket', SearchAttributeType.KEYWORD),
  key: defineSearchAttributeKey('BucketflowKey', SearchAttributeType.KEYWORD),
  event: defineSearchAttributeKey('BucketflowEvent', SearchAttributeType.KEYWORD),
  targets: defineSearchAttributeKey('BucketflowTargets', SearchAttributeType.KEYWORD_LIST),
  failedTargets: defineSearchAttributeKey('BucketflowFailedTargets', SearchAttributeType.KEYWORD_LIST),
  status: defineSearchAttributeKey('BucketflowStatus', SearchAttributeType.KEYWORD),
  redeliveryOf: defineSearchAttributeKey('BucketflowRedeliveryOf', SearchAttributeType.KEYWORD),
  /** Where the event came from: a DeliverySource of src/events/sources (minio, ceph, aws-s3, aws-sns, aws-eventbridge;
   * scan, reconcile, backfill for events made from a listing). */
  source: defineSearchAttributeKey('BucketflowSource', SearchAttributeType.KEYWORD),
  /** On a per-event delivery that continues an event a batch could not deliver: the batch's workflow id. */
  batch: defineSearchAttributeKey('BucketflowBatch', SearchAttributeType.KEYWORD),
  /**
   * On a batch: its events' id tokens, space-separated (src/delivery/batch-index.ts), so `deliveries show <eventId>`
   * finds it (Text, matched token by token: SQL visibility allows only 3 keyword lists per namespace).
   */
  batchEvents: defineSearchAttributeKey('BucketflowBatchEvents', SearchAttributeType.TEXT),
  /** On a batch: a token per bucket and per object, so `deliveries list --bucket/--key` and `show bucket/key` find it.
   * */
  batchObjects: defineSearchAttributeKey('BucketflowBatchObjects', SearchAttributeType.TEXT),
};

/** The commands an operator with the right permissions runs when bucketflow may not add them itself. */
export function createCommands(
  namespace: string,
  names: SearchAttributeName[] = Object.keys(SEARCH_ATTRIBUTES) as SearchAttributeName[],
): string[] {
  return names.map(
    (name) =>
      `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type ${SEARCH_ATTRIBUTES[name]}`,
  );
}
