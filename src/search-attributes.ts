// Custom search attributes every delivery workflow sets; the stack registers them at server start.
export const SEARCH_ATTRIBUTES = {
  BucketflowBucket: 'Keyword',
  BucketflowKey: 'Keyword',
  BucketflowEvent: 'Keyword',
  BucketflowTargets: 'KeywordList',
  BucketflowFailedTargets: 'KeywordList',
  BucketflowStatus: 'Keyword',
} as const;

export type SearchAttributeName = keyof typeof SEARCH_ATTRIBUTES;
