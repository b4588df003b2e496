// Elasticsearch target (ES 7/8). `access`: one document `{"Records":[record]}` per event, its id the event
// identity, so a retry does not index twice. `namespace`: one document per object, id as MinIO derives it
// (base64url HighwayHash-256 of `<bucket>/<raw key>`), deleted on removal. Namespace writes use external
// versions taken from the sequencer, and a helper index `bucketflow-seq-<index>` remembers each object's
// newest sequencer (deletes included), so a late, older event never overwrites or resurrects anything.
// A batch (or a single event) goes as `_bulk` requests: access one, namespace the helper claims, then the
// writes (and, rarely, re-applied deletes), each item's answer mapped back to its event.
import { Client, errors } from '@elastic/elasticsearch';
import type { BulkResponseItem } from '@elastic/elasticsearch/lib/api/types';
import { HighwayHash } from 'highwayhasher';
import { redactCredentials } from '../config/connection-strings';
import { ELASTICSEARCH_HELPER_PREFIX, type ElasticsearchConfig } from '../config/targets';
import type { S3EventRecord } from '../events/types';
import { isRemoval, objectPath, orderingKey } from '../events/record';
import { onceSucceeded, probeHealth } from './shared-connection';
import { PermanentDeliveryError } from '../delivery/failure';
import { errorMessage } from '../errors';
import { bulkTarget, DELIVERED, failed } from './send';
import { deliveryError, type BatchSendResult, type Delivery, type Target } from './target';

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

  const where = `${arn}: elasticsearch ${redactCredentials(config.url)} index ${index}`;
  /** One `_bulk` request (lines built by bulkAction, so 64-bit versions stay exact): each item's answer, in order. */
  const bulk = async (lines: string[]): Promise<BulkResponseItem[]> => {
    if (!lines.length) return [];
    const response = await client.bulk<string>({ operations: lines });
    return response.items.map((item) => Object.values(item)[0] as BulkResponseItem);
  };
  /** An item ES refused, permanent or not as a whole request with its status would be. */
  const itemFailure = (item: BulkResponseItem) => {
    const error = `${item.error?.type ?? `status ${item.status}`}: ${item.error?.reason ?? '(no reason)'}`;
    return failed(deliveryError(where, new Error(error), isPermanentStatus(item.status)));
  };

  const appendOnce = async (ordered: Delivery[]): Promise<BatchSendResult[]> => {
    const items = await bulk(
      ordered.flatMap(({ record, eventId }) => [
        bulkAction('create', index, eventId),
        JSON.stringify({ Records: [record] }),
      ]),
    );
    // 409: a document with this event id is already there.
    return items.map((item) => (item.status < 300 || item.status === 409 ? DELIVERED : itemFailure(item)));
  };

  // Claims each object's newest version in the helper index first: an older event stops there (409).
  // Items of one id run in request order on its shard, so one object's events apply oldest first.
  const applyNewest = async (ordered: Delivery[]): Promise<BatchSendResult[]> => {
    const results: BatchSendResult[] = new Array(ordered.length);
    const claims: Claim[] = [];
    for (const [position, { record }] of ordered.entries()) {
      try {
        const key = objectPath(record);
        claims.push({
          position,
          record,
          key,
          id: await namespaceDocId(key),
          version: versionOf(record),
          removal: isRemoval(record.eventName),
        });
      } catch (err) {
        results[position] = failed(new PermanentDeliveryError(`${arn}: ${errorMessage(err)}`));
      }
    }
    const claimed = await bulk(
      claims.flatMap((c) => [
        bulkAction('index', helper, c.id, c.version, 'external_gte'),
        JSON.stringify({ key: c.key, deleted: c.removal, version: c.version } satisfies HelperDoc),
      ]),
    );
    const winners = claims.filter((c, n) => {
      if (claimed[n].status === 409) results[c.position] = DELIVERED;
      else if (claimed[n].status >= 300) results[c.position] = itemFailure(claimed[n]);
      return claimed[n].status < 300;
    });
    const applied = await bulk(
      winners.flatMap((c) =>
        c.removal
          ? [bulkAction('delete', index, c.id, c.version, 'external')]
          : [bulkAction('index', index, c.id, c.version, 'external'), JSON.stringify({ Records: [c.record] })],
      ),
    );
    // 409: a newer state is there; 404 on a delete: nothing to delete.
    const written = winners.filter((c, n) => {
      const { status } = applied[n];
      results[c.position] =
        status < 300 || status === 409 || (status === 404 && c.removal) ? DELIVERED : itemFailure(applied[n]);
      return status < 300 && !c.removal;
    });
    await undoIfDeletedSince(written, results);
    return results;
  };

  // A newer delete's tombstone lives only index.gc_deletes (60 s); if an older write landed after it
  // expired, the helper index still knows about the delete and it is applied again.
  const undoIfDeletedSince = async (written: Claim[], results: BatchSendResult[]) => {
    if (!written.length) return;
    try {
      const ids = [...new Set(written.map((c) => c.id))];
      const { docs } = await client.mget<HelperDoc>({ index: helper, ids });
      const stale = ids.flatMap((id, n) => {
        const newest = '_source' in docs[n] ? docs[n]._source : undefined;
        const superseded =
          newest?.deleted && written.some((c) => c.id === id && BigInt(newest.version) > BigInt(c.version));
        return superseded ? [{ id, version: newest.version }] : [];
      });
      if (!stale.length) return;
      const undone = await bulk(stale.map(({ id, version }) => bulkAction('delete', index, id, version, 'external')));
      undone.forEach((item, n) => {
        if (item.status < 300 || item.status === 404 || item.status === 409) return;
        for (const c of written) if (c.id === stale[n].id) results[c.position] = itemFailure(item);
      });
    } catch (err) {
      const failure = failed(deliveryError(where, err, isPermanent(err)));
      for (const c of written) results[c.position] = failure;
    }
  };

  return bulkTarget({
    arn,
    keyedWrites: true, // documents keyed by event id (access) or object key (namespace)
    async sendOrdered(ordered) {
      try {
        await createIndices();
        return await (config.format === 'namespace' ? applyNewest(ordered) : appendOnce(ordered));
      } catch (err) {
        throw deliveryError(where, err, isPermanent(err));
      }
    },
    health: () =>
      probeHealth(async () => {
        // cluster.health, not ping: some distributions (the integ-test zip) answer 405 to HEAD /.
        await client.cluster.health({}, { requestTimeout: 5_000 });
      }),
    close: () => client.close(),
  });
}

/** A namespace event on its way: where it sits in the batch, its document id and external version. */
interface Claim {
  position: number;
  record: S3EventRecord;
  key: string;
  id: string;
  version: string;
  removal: boolean;
}

/** A `_bulk` action line; `version` (decimal) is written as a bare JSON number, exactly. */
function bulkAction(
  op: 'create' | 'index' | 'delete',
  index: string,
  id: string,
  version?: string,
  versionType?: 'external' | 'external_gte',
): string {
  const versioning = version === undefined ? '' : `,"version":${version},"version_type":"${versionType}"`;
  return `{"${op}":{"_index":${JSON.stringify(index)},"_id":${JSON.stringify(id)}${versioning}}}`;
}

async function createIndexIfMissing(client: Client, index: string, mappings?: Record<string, unknown>): Promise<void> {
  if (await client.indices.exists({ index })) return;
  try {
    await client.indices.create({ index, mappings });
  } catch (err) {
    if (!(err instanceof errors.ResponseError && err.body?.error?.type === 'resource_already_exists_exception'))
      throw err;
  }
}

/** The external version of a namespace write: the ordering key (ns sequencer) as the decimal of a number ES accepts. */
function versionOf(record: S3EventRecord): string {
  const version = BigInt(`0x${orderingKey(record)}`);
  if (version > MAX_VERSION) {
    throw new PermanentDeliveryError(
      `s3.object.sequencer ${record.s3.object.sequencer}: exceeds Elasticsearch's 63-bit version`,
    );
  }
  // Written into the request as it is: a JS number would round nanoseconds.
  return version.toString();
}

/** 4xx other than 404 (a vanished index), 408 and 429 cannot be fixed by retrying; nor can a server that is not
 * Elasticsearch. */
function isPermanent(err: unknown): boolean {
  if (err instanceof errors.ProductNotSupportedError) return true;
  return err instanceof errors.ResponseError && isPermanentStatus(err.statusCode ?? 0);
}

function isPermanentStatus(status: number): boolean {
  return status >= 400 && status < 500 && ![404, 408, 429].includes(status);
}
