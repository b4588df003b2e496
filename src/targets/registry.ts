// Maps a configured target to its implementation: one module per target type, loaded only when a target
// of that type is configured (each client library costs memory: Elasticsearch's alone some 30 MB).
import type { TargetConfigByType, TargetEntry, TargetType } from '../config/targets';
import type { Target } from './target';

type Driver<T extends TargetType> = { create(arn: string, config: TargetConfigByType[T]): Target };

/* eslint-disable @typescript-eslint/no-require-imports -- lazy loading is the point */
const drivers: { [T in TargetType]: () => Driver<T> } = {
  amqp: () => require('./amqp') as typeof import('./amqp'),
  elasticsearch: () => require('./elasticsearch') as typeof import('./elasticsearch'),
  kafka: () => require('./kafka') as typeof import('./kafka'),
  mqtt: () => require('./mqtt') as typeof import('./mqtt'),
  mysql: () => require('./mysql') as typeof import('./mysql'),
  nats: () => require('./nats') as typeof import('./nats'),
  postgresql: () => require('./postgresql') as typeof import('./postgresql'),
  redis: () => require('./redis') as typeof import('./redis'),
  webhook: () => require('./webhook') as typeof import('./webhook'),
};

export function createTarget(entry: TargetEntry): Target {
  const driver = drivers[entry.type]() as Driver<typeof entry.type>;
  return driver.create(entry.arn, entry.config as never);
}
