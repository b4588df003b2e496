// Maps a configured target to its implementation: one module per target type.
import type { TargetEntry } from '../config/targets';
import * as amqp from './amqp';
import * as elasticsearch from './elasticsearch';
import * as kafka from './kafka';
import * as mqtt from './mqtt';
import * as mysql from './mysql';
import * as nats from './nats';
import * as postgresql from './postgresql';
import * as redis from './redis';
import * as webhook from './webhook';
import type { Target } from './target';

export function createTarget(entry: TargetEntry): Target {
  switch (entry.type) {
    case 'amqp':
      return amqp.create(entry.arn, entry.config);
    case 'elasticsearch':
      return elasticsearch.create(entry.arn, entry.config);
    case 'kafka':
      return kafka.create(entry.arn, entry.config);
    case 'mqtt':
      return mqtt.create(entry.arn, entry.config);
    case 'mysql':
      return mysql.create(entry.arn, entry.config);
    case 'nats':
      return nats.create(entry.arn, entry.config);
    case 'postgresql':
      return postgresql.create(entry.arn, entry.config);
    case 'redis':
      return redis.create(entry.arn, entry.config);
    case 'webhook':
      return webhook.create(entry.arn, entry.config);
  }
}
