// Target ARNs: arn:minio:sqs:<region>:<id>:<type> (region may be empty; the unnamed default target is `_`).
export const TARGET_TYPES = [
  'amqp',
  'elasticsearch',
  'kafka',
  'mqtt',
  'mysql',
  'nats',
  'postgresql',
  'redis',
  'webhook',
] as const;
export type TargetType = (typeof TARGET_TYPES)[number];
/** Types MinIO has that we do not deliver to: accepted in a config only while disabled. */
export const UNSUPPORTED_MINIO_TYPES: readonly string[] = ['nsq'];

export interface Arn {
  region: string;
  id: string;
  type: TargetType;
}

export class ArnError extends Error {
  constructor(arn: string, problem: string) {
    super(`ARN "${arn}": ${problem}`);
    this.name = 'ArnError';
  }
}

export function isTargetType(type: string): type is TargetType {
  return (TARGET_TYPES as readonly string[]).includes(type);
}

export function parseArn(arn: string): Arn {
  const parts = arn.split(':');
  if (parts.length !== 6) throw new ArnError(arn, 'expected arn:minio:sqs:<region>:<id>:<type>');
  const [scheme, partition, service, region, id, type] = parts;
  if (scheme !== 'arn' || partition !== 'minio' || service !== 'sqs') {
    throw new ArnError(arn, 'must start with arn:minio:sqs:');
  }
  if (!id) throw new ArnError(arn, 'target id is empty');
  if (!type) throw new ArnError(arn, 'target type is empty');
  if (!isTargetType(type)) throw new ArnError(arn, `unknown target type "${type}" (known: ${TARGET_TYPES.join(', ')})`);
  return { region, id, type };
}

export function formatArn({ region, id, type }: Arn): string {
  return `arn:minio:sqs:${region}:${id}:${type}`;
}
