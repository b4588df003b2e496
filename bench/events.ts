// The benchmark's events and rules: N distinct object puts in one bucket, every target subscribed.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildEvent, eventIdentity } from '../src/events';
import type { S3EventRecord } from '../src/events/types';
import { FileStateStore } from '../src/state';

export interface BenchEvent {
  eventId: string;
  record: S3EventRecord;
}

/** Deterministic for a bucket, n and base time, so the baseline's child process builds the same events. */
export function benchEvents(bucket: string, n: number, baseTimeMs: number): BenchEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const record = buildEvent({
      eventName: 's3:ObjectCreated:Put',
      bucket,
      key: `photos/${String(i).padStart(6, '0')}.jpg`,
      size: 56060,
      eventTime: new Date(baseTimeMs + i),
    });
    return { eventId: eventIdentity(record), record };
  });
}

/** Writes the targets config and subscribes `bucket` to every configured ARN; returns the config file. */
export async function prepareRun(
  dataDir: string,
  bucket: string,
  notify: Record<string, Record<string, unknown>>,
): Promise<string> {
  await mkdir(dataDir, { recursive: true });
  const configFile = path.join(dataDir, `config-${bucket}.json`);
  await writeFile(configFile, JSON.stringify({ region: 'us-east-1', notify }));
  const arns = Object.entries(notify).flatMap(([type, byId]) =>
    Object.keys(byId).map((id) => `arn:minio:sqs:us-east-1:${id}:${type}`),
  );
  const rules = new FileStateStore(dataDir);
  await rules.put(
    bucket,
    arns.map((arn, i) => ({
      id: String(i + 1),
      arn,
      events: ['s3:ObjectCreated:*'],
      prefix: 'photos/',
      suffix: '.jpg',
    })),
  );
  await rules.close();
  return configFile;
}
