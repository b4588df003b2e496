// Redis target. `access` RPUSHes `{"Records":[record]}` onto a list (the guide's `monitor` output);
// `namespace` keeps one hash field `<bucket>/<raw key>` per object, removed on delete. Both are applied
// by Lua scripts so a retried or out-of-order event cannot push twice or overwrite a newer state. A batch
// is one pipeline of those script calls.
import Redis, { type ChainableCommander } from 'ioredis';
import type { RedisConfig } from '../config/targets';
import { parseHostPort } from '../config/connection-strings';
import { isRemoval, objectPath, orderingKey, storedValue } from '../events/record';
import { probeHealth } from './shared-connection';
import { bulkTarget, DELIVERED, failed } from './send';
import { deliveryError, type Delivery, type Target } from './target';

/** The scripts below, as ioredis defines them on a pipeline (defineCommand). */
interface Scripts {
  appendOnce(list: string, ids: string, id: string, value: string): unknown;
  applyNewest(hash: string, seq: string, field: string, sequencer: string, value: string, removal: string): unknown;
}

// KEYS: list, ids set. ARGV: event id, value. Pushes only an event id not seen before.
const APPEND_ONCE = `
if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then redis.call('RPUSH', KEYS[1], ARGV[2]) end
return 1`;

// KEYS: hash, sequencer hash. ARGV: field, sequencer (fixed width), value, '1' for removal.
// An event older than (or as old as) the newest applied one for the object changes nothing.
const APPLY_NEWEST = `
local seen = redis.call('HGET', KEYS[2], ARGV[1])
if seen and seen >= ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if ARGV[4] == '1' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
return 1`;

export function create(arn: string, config: RedisConfig): Target {
  const { host, port } = parseHostPort(config.address, 'address', 6379);
  const client = new Redis({
    host,
    port,
    username: config.user || undefined,
    password: config.password || undefined,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  client.on('error', () => {}); // failures surface on the command that hit them
  client.defineCommand('appendOnce', { numberOfKeys: 2, lua: APPEND_ONCE });
  client.defineCommand('applyNewest', { numberOfKeys: 2, lua: APPLY_NEWEST });
  const failure = (err: unknown) =>
    deliveryError(`${arn}: redis ${config.address}`, err, /NOAUTH|WRONGPASS|WRONGTYPE|NOPERM/.test(String(err)));
  /** Queues one event's script call on the pipeline. */
  const apply = (pipeline: Scripts, { record, eventId }: Delivery) => {
    const value = storedValue(record);
    if (config.format === 'access') {
      pipeline.appendOnce(config.key, `${config.key}:bucketflow:ids`, eventId, value);
    } else {
      const removal = isRemoval(record.eventName) ? '1' : '0';
      pipeline.applyNewest(
        config.key,
        `${config.key}:bucketflow:seq`,
        objectPath(record),
        orderingKey(record),
        value,
        removal,
      );
    }
  };

  return bulkTarget({
    arn,
    keyedWrites: true, // namespace: hash fields per object key; access: the list push guarded by a set of event ids
    // One pipeline of script calls, in send order, each answering for its own event.
    async sendOrdered(ordered) {
      const pipeline = client.pipeline() as ChainableCommander & Scripts;
      for (const delivery of ordered) apply(pipeline, delivery);
      let replies: Array<[Error | null, unknown]> | null;
      try {
        replies = await pipeline.exec();
      } catch (err) {
        throw failure(err);
      }
      if (!replies) throw failure(new Error('pipeline discarded'));
      return replies.map(([err]) => (err ? failed(failure(err)) : DELIVERED));
    },
    health: () => probeHealth(() => client.ping()),
    async close() {
      client.disconnect();
    },
  });
}
