// The bucket notification rules (which events of which keys go to which ARNs) and their XML form, as `mc event`
// and MinIO's PutBucketNotificationConfiguration speak it. Where rules are kept is src/state/.
export * from './rules';
export * from './xml';
export * from './resolve';
export * from './pattern';
