// Elasticsearch target (ES 7/8). `access`: one document `{"Records":[record]}` per event, its id the event
// identity, so a retry does not index twice. `namespace`: one document per object, id as MinIO derives it
// (base64url HighwayHash-256 of `<bucket>/<raw key>`), deleted on removal. Namespace writes use external
// versions taken from the sequencer, and a helper index `bucketflow-seq-<index>` remembers each object's
// newest sequencer (deletes included), so a late, older event never overwrites or resurrects anything.
import { Client, errors } from '@elastic/elasticsearch';
import { HighwayHash } from 'highwayhasher';
import { redactCredentials } from '../config/connection-strings';
import { ELASTICSEARCH_HELPER_PREFIX, type ElasticsearchConfig } from '../config/targets';
import type { S3EventRecord } from '../events/types';
import { isRemoval, objectPath, orderingKey } from '../events/record';
import { onceSucceeded, probeHealth } from './shared-connection';
import { deliveryError, PermanentDeliveryError, type Delivery, type Target } from './target';

// MinIO's fixed HighwayHash key (internal/event/target/elasticsearch.go).
const MINIO_DOC_ID_KEY = Buffer.from('4be734fa8e238acd263e83e6bb968552040f935da39f441497e09d1322de36a0', 'hex');
const MAX_VERSION = 2n ** 63n - 1n; // ES versions are signed 64-bit longs
/** The helper index's document per object; `version` is a decimal string (JSON numbers would round nanoseconds). */
interface HelperDoc {
  key: string;
  deleted: boolean;
  version: string;
}

const hasher = onceSucceeded(() => HighwayHash.loadModule());

/** MinIO's namespace document id: base64url (padded, as Go's URLEncoding) of HighwayHash-256 of the key. */
export async function namespaceDocId(key: string): Promise<string> {
  const hash = (await hasher()).hash256(MINIO_DOC_ID_KEY, Buffer.from(key, 'utf8'));
  return Buffer.from(hash).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

export function create(arn: string, config: ElasticsearchConfig): Target {
  const index = config.index;
  const helper = `${ELASTICSEARCH_HELPER_PREFIX}${index}`;
  const client = new Client({
    node: config.url,
    auth: config.username ? { username: config.username, password: config.password } : undefined,
    maxRetries: 1,
    requestTimeout: 30_000,
  });
  const createIndices = onceSucceeded(async () => {
    await createIndexIfMissing(client, index);
    if (config.format === 'namespace') {
      await createIndexIfMissing(client, helper, { dynamic: false, properties: { deleted: { type: 'boolean' } } });
    }
  });

  const appendOnce = async ({ record, eventId }: Delivery) => {
    await unlessConflict(client.create({ index, id: eventId, document: { Records: [record] } }));
  };

  // Claims the object's newest version in the helper index first: an older event stops there.
  const applyNewest = async ({ record }: Delivery) => {
    const key = objectPath(record);
    const id = await namespaceDocId(key);
    const version = versionOf(record);
    const removal = isRemoval(record.eventName);
    const claimed = await unlessConflict(
      client.index({ index: helper, id, version, version_type: 'external_gte', document: { key, deleted: removal, version: String(version) } }),
    );
    if (!claimed) return;
    if (removal) {
      await unlessConflict(client.delete({ index, id, version, version_type: 'external' }, { ignore: [404] }));
    } else if (await unlessConflict(client.index({ index, id, version, version_type: 'external', document: { Records: [record] } }))) {
      await undoIfDeletedSince(id, version);
    }
  };

  // A newer delete's tombstone lives only index.gc_deletes (60 s); if this older write landed after it
  // expired, the helper index still knows about the delete and it is applied again.
  const undoIfDeletedSince = async (id: string, version: number) => {
    const newest = (await client.get<HelperDoc>({ index: helper, id }, { ignore: [404] }))._source;
    if (!newest?.deleted || BigInt(newest.version) <= BigInt(version)) return;
    await unlessConflict(client.delete({ index, id, version: newest.version as unknown as number, version_type: 'external' }, { ignore: [404] }));
  };

  return {
    arn,
    async send(delivery: Delivery) {
      try {
        await createIndices();
        await (config.format === 'namespace' ? applyNewest(delivery) : appendOnce(delivery));
      } catch (err) {
        if (err instanceof PermanentDeliveryError) throw new PermanentDeliveryError(`${arn}: ${err.message}`);
        throw deliveryError(`${arn}: elasticsearch ${redactCredentials(config.url)} index ${index}`, err, isPermanent(err));
      }
    },
    health: () =>
      probeHealth(async () => {
        // cluster.health, not ping: some distributions (the integ-test zip) answer 405 to HEAD /.
        await client.cluster.health({}, { requestTimeout: 5_000 });
      }),
    close: () => client.close(),
  };
}

async function createIndexIfMissing(client: Client, index: string, mappings?: Record<string, unknown>): Promise<void> {
  if (await client.indices.exists({ index })) return;
  try {
    await client.indices.create({ index, mappings });
  } catch (err) {
    if (!(err instanceof errors.ResponseError && err.body?.error?.type === 'resource_already_exists_exception')) throw err;
  }
}

/** The external version of a namespace write: the ordering key (ns sequencer) as a number ES accepts. */
function versionOf(record: S3EventRecord): number {
  const version = BigInt(`0x${orderingKey(record)}`);
  if (version > MAX_VERSION) {
    throw new PermanentDeliveryError(`s3.object.sequencer ${record.s3.object.sequencer}: exceeds Elasticsearch's 63-bit version`);
  }
  // Passed through to the query string as written: a JS number would round nanoseconds.
  return version.toString() as unknown as number;
}

/** True once the write is applied; false when ES refused it as a version conflict (a newer or the same state is there). */
async function unlessConflict(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (err) {
    if (err instanceof errors.ResponseError && err.statusCode === 409) return false;
    throw err;
  }
}

/** 4xx other than 404 (a vanished index), 408 and 429 cannot be fixed by retrying; nor can a server that is not Elasticsearch. */
function isPermanent(err: unknown): boolean {
  if (err instanceof errors.ProductNotSupportedError) return true;
  if (!(err instanceof errors.ResponseError)) return false;
  const status = err.statusCode ?? 0;
  return status >= 400 && status < 500 && ![404, 408, 429].includes(status);
}
