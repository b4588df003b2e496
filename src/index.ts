// The package's public entry (package.json `main` and `exports`): the client a storage-side service uses to hand
// events to bucketflow, the webhook signature check a receiver uses, and the public types. Nothing else of src/
// is public API.
export { BucketflowClient, MAX_RECORD_BYTES, checkRecordSizes, workflowIdFor } from './publish/publisher';
export type { PublishOptions, PublishedEvent } from './publish/publisher';
export { parseSigningSecrets, verifyWebhook, WebhookSignatureError } from './webhook-signature';
export { RecordTooLargeError } from './errors';
export type { EventEnvelope, Identity, S3EventRecord, S3Object } from './events/types';
export type { DeliverySource, EventSource, ListingOrigin, ParsedEvent } from './events/sources';
