// Custom search attributes every delivery workflow sets, so operators find any delivery in the Web UI
// or with `temporal workflow list --query`. The stack registers them at server start.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SEARCH_ATTRIBUTES = {
  BucketflowBucket: 'Keyword',
  BucketflowKey: 'Keyword',
  BucketflowEvent: 'Keyword',
  BucketflowTargets: 'KeywordList',
  BucketflowFailedTargets: 'KeywordList',
  BucketflowStatus: 'Keyword',
  BucketflowSource: 'Keyword',
} as const;

export const searchKeys = {
  bucket: defineSearchAttributeKey('BucketflowBucket', SearchAttributeType.KEYWORD),
  key: defineSearchAttributeKey('BucketflowKey', SearchAttributeType.KEYWORD),
  event: defineSearchAttributeKey('BucketflowEvent', SearchAttributeType.KEYWORD),
  targets: defineSearchAttributeKey('BucketflowTargets', SearchAttributeType.KEYWORD_LIST),
  failedTargets: defineSearchAttributeKey('BucketflowFailedTargets', SearchAttributeType.KEYWORD_LIST),
  status: defineSearchAttributeKey('BucketflowStatus', SearchAttributeType.KEYWORD),
  /** Where the event came from: an EventSource of src/events/sources (minio, ceph, aws-s3, aws-sns, aws-eventbridge). */
  source: defineSearchAttributeKey('BucketflowSource', SearchAttributeType.KEYWORD),
};
