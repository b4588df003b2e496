// S3 event records exactly as MinIO emits them (MinIO's internal/event package, notification format 2.0).

export interface Identity {
  principalId: string;
}

export interface S3Object {
  /** Query-escaped as MinIO does (`/` -> %2F, space -> +). Rule filters match the RAW key. */
  key: string;
  size?: number;
  eTag?: string;
  contentType?: string;
  userMetadata?: Record<string, string>;
  versionId?: string;
  /** Uppercase hex of the object's modification time in nanoseconds. */
  sequencer: string;
}

export interface S3EventRecord {
  eventVersion: string;
  eventSource: string;
  awsRegion: string;
  eventTime: string;
  eventName: string;
  userIdentity: Identity;
  requestParameters: Record<string, string> | null;
  responseElements: Record<string, string>;
  s3: {
    s3SchemaVersion: string;
    configurationId: string;
    bucket: { name: string; ownerIdentity: Identity; arn: string };
    object: S3Object;
  };
  source?: { host: string; port: string; userAgent: string };
}

/** What webhook, Kafka, AMQP, NATS and MQTT targets receive: exactly one record. */
export interface EventEnvelope {
  EventName: string;
  /** `<bucket>/<raw key>` */
  Key: string;
  Records: [S3EventRecord];
}
