// Custom search attributes every delivery workflow sets, so operators find any delivery in the Web UI
// or with `temporal workflow list --query`. This list is the one home: the stack passes it to the dev
// server, and the worker and the ingest add what a namespace lacks at start (src/temporal/register-search-attributes.ts).
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
  /** Where the event came from: an EventSource of src/events/sources (minio, ceph, aws-s3, aws-sns, aws-eventbridge). */
  source: defineSearchAttributeKey('BucketflowSource', SearchAttributeType.KEYWORD),
};

/** The commands an operator with the right permissions runs when bucketflow may not add them itself. */
export function createCommands(namespace: string, names: SearchAttributeName[] = Object.keys(SEARCH_ATTRIBUTES) as SearchAttributeName[]): string[] {
  return names.map(
    (name) => `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type ${SEARCH_ATTRIBUTES[name]}`,
  );
}
