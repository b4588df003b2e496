// bucketflow's access to a bucket through the S3 API (backfills, scan sources and reconciliation list through it):
// one page of a listing at a time, so a Temporal activity can list page by page and heartbeat where it is, and the
// HEAD of one object (its content type and user metadata). Built on @aws-sdk/client-s3, loaded on the first
// openS3 only (as the target drivers load theirs), configured by src/settings/s3.ts. Every failure is an
// S3AccessError (./errors.ts): one line naming the bucket and endpoint, and whether a retry can help.
//
//   const s3 = openS3(loadS3Settings());
//   let continuation: ListContinuation | undefined;
//   do {
//     const page = await s3.listPage('photos', { prefix: '2026/', continuation });
//     // ... page.objects ...; heartbeat(page.next)
//     continuation = page.next;
//   } while (continuation);
//   s3.close();
import type * as S3Sdk from '@aws-sdk/client-s3';
import { s3EndpointName, type S3Settings } from '../settings/s3';
import { s3Failure, S3AccessError } from './errors';
import { compareObjectKeys } from '../events/record';

/** One listed object, or with `versions` one version or delete marker of it. JSON-safe (a workflow may carry it). */
export interface S3Object {
  key: string;
  size: number;
  /** Without the quotes S3 puts around it; '' for a delete marker. */
  etag: string;
  /** ISO 8601. */
  lastModified: string;
  /** Set in a versions listing ('null' for an object written before versioning was on). */
  versionId?: string;
  /** Whether this is the key's current version (always true in a plain listing). */
  isLatest: boolean;
  /** A delete marker (versions listings only): the key reads as deleted from here on. */
  deleteMarker: boolean;
}

/** Where the next page starts: opaque to callers, JSON-safe (heartbeat it, pass it back as it is). */
export type ListContinuation =
  | { kind: 'objects'; token: string; lastKey: string }
  | { kind: 'versions'; keyMarker: string; versionIdMarker?: string };

export interface ListOptions {
  prefix?: string;
  /** The `next` of the previous page; undefined = the first page. */
  continuation?: ListContinuation;
  /** Every version and delete marker (ListObjectVersions) instead of the current objects (ListObjectsV2). */
  versions?: boolean;
  /** Objects per page (S3's default and most: 1,000). */
  pageSize?: number;
}

export interface ListPage {
  /** In S3's order: by key (UTF-8 bytes), a key's versions newest first. */
  objects: S3Object[];
  /** undefined once the listing is complete. */
  next: ListContinuation | undefined;
}

export interface ObjectHead {
  contentType: string | undefined;
  /** User metadata (x-amz-meta-*), names lower-case without the prefix, as S3 returns them. */
  metadata: Record<string, string>;
  size: number;
  etag: string;
  lastModified: string | undefined;
  versionId: string | undefined;
}

export interface S3Access {
  /** The endpoint as errors name it (no credentials). */
  readonly endpoint: string;
  listPage(bucket: string, options?: ListOptions): Promise<ListPage>;
  headObject(bucket: string, key: string, versionId?: string): Promise<ObjectHead>;
  close(): void;
}

export interface OpenS3Options {
  /** Attempts per call inside the SDK (its own backoff on throttling, 5xx and dropped connections); default 3. */
  maxAttempts?: number;
  /** Connecting may take this long before the endpoint counts as unreachable (default 5 s). */
  connectTimeoutMs?: number;
  /** A request idle this long fails (default 60 s). */
  requestTimeoutMs?: number;
}

type Sdk = typeof S3Sdk;
let sdk: Sdk | undefined;

/** @aws-sdk/client-s3 on first use; its warning that later SDK releases will want Node 22 is left out unless asked for.
 * */
function loadSdk(): Sdk {
  if (!sdk) {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    sdk = require('@aws-sdk/client-s3') as Sdk; // eslint-disable-line @typescript-eslint/no-require-imports -- lazy loading is the point
  }
  return sdk;
}

export function openS3(settings: S3Settings, options: OpenS3Options = {}): S3Access {
  const { S3Client, ListObjectsV2Command, ListObjectVersionsCommand, HeadObjectCommand, HeadBucketCommand } = loadSdk();
  const endpoint = s3EndpointName(settings);
  const client = new S3Client({
    endpoint: settings.endpoint,
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    credentials: settings.credentials,
    followRegionRedirects: true,
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: {
      connectionTimeout: options.connectTimeoutMs ?? 5_000,
      requestTimeout: options.requestTimeoutMs ?? 60_000,
    },
  });
  const secrets = settings.credentials ? [settings.credentials.accessKeyId, settings.credentials.secretAccessKey] : [];
  const call = async <T>(bucket: string, run: () => Promise<T>, key?: string): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw s3Failure(error, { bucket, endpoint, key, secrets });
    }
  };

  async function listObjects(bucket: string, options: ListOptions): Promise<ListPage> {
    const continuation = options.continuation;
    if (continuation && continuation.kind !== 'objects')
      throw new TypeError('listPage: a versions continuation given to a listing without versions');
    const request = (from: { ContinuationToken?: string; StartAfter?: string }) =>
      call(bucket, async () => {
        const answer = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: options.prefix || undefined,
            MaxKeys: options.pageSize,
            EncodingType: 'url',
            ...from,
          }),
        );
        if (answer.Name !== bucket) throw notAListing(bucket, endpoint);
        const decode = decoder(answer.EncodingType);
        const objects = (answer.Contents ?? []).map((item): S3Object => ({
          key: decode(item.Key ?? ''),
          size: item.Size ?? 0,
          etag: unquote(item.ETag),
          lastModified: iso(item.LastModified),
          isLatest: true,
          deleteMarker: false,
        }));
        return { answer, objects };
      });
    let { answer, objects } = await request({ ContinuationToken: continuation?.token });
    if (continuation && objects.length > 0 && compareObjectKeys(objects[0].key, continuation.lastKey) <= 0) {
      // The server misread its own token (S3Proxy 2.6 URL-encodes it with encoding-type=url, then takes it for a
      // key): the page goes on after the last key listed instead, which every server understands.
      ({ answer, objects } = await request({ StartAfter: continuation.lastKey }));
    }
    if (!answer.IsTruncated) return { objects, next: undefined };
    if (!answer.NextContinuationToken)
      throw badListing(bucket, endpoint, 'the server says the listing goes on but sent no NextContinuationToken');
    const lastKey = objects.at(-1)?.key ?? continuation?.lastKey;
    if (lastKey === undefined || lastKey === continuation?.lastKey)
      throw badListing(bucket, endpoint, "the server's listing does not move on (a truncated page with no new key)");
    return { objects, next: { kind: 'objects', token: answer.NextContinuationToken, lastKey } };
  }

  async function listVersions(bucket: string, options: ListOptions): Promise<ListPage> {
    const continuation = options.continuation;
    if (continuation && continuation.kind !== 'versions')
      throw new TypeError('listPage: an objects continuation given to a versions listing');
    const answer = await call(bucket, () =>
      client.send(
        new ListObjectVersionsCommand({
          Bucket: bucket,
          Prefix: options.prefix || undefined,
          MaxKeys: options.pageSize,
          EncodingType: 'url',
          KeyMarker: continuation?.keyMarker,
          VersionIdMarker: continuation?.versionIdMarker,
        }),
      ),
    );
    if (answer.Name !== bucket) throw notAListing(bucket, endpoint);
    const decode = decoder(answer.EncodingType);
    const versions = (answer.Versions ?? []).map((item): S3Object => ({
      key: decode(item.Key ?? ''),
      size: item.Size ?? 0,
      etag: unquote(item.ETag),
      lastModified: iso(item.LastModified),
      versionId: item.VersionId,
      isLatest: item.IsLatest ?? false,
      deleteMarker: false,
    }));
    const markers = (answer.DeleteMarkers ?? []).map((item): S3Object => ({
      key: decode(item.Key ?? ''),
      size: 0,
      etag: '',
      lastModified: iso(item.LastModified),
      versionId: item.VersionId,
      isLatest: item.IsLatest ?? false,
      deleteMarker: true,
    }));
    const objects = continuation
      ? pastMarkers(mergeVersions(versions, markers), continuation)
      : mergeVersions(versions, markers);
    if (!answer.IsTruncated) return { objects, next: undefined };
    if (!answer.NextKeyMarker)
      throw badListing(bucket, endpoint, 'the server says the listing goes on but sent no NextKeyMarker');
    const next: ListContinuation = {
      kind: 'versions',
      keyMarker: decode(answer.NextKeyMarker),
      versionIdMarker: answer.NextVersionIdMarker || undefined,
    };
    if (
      continuation &&
      next.keyMarker === continuation.keyMarker &&
      next.versionIdMarker === continuation.versionIdMarker
    ) {
      throw badListing(
        bucket,
        endpoint,
        `the server's version listing does not move past key ${JSON.stringify(next.keyMarker)} version ${next.versionIdMarker ?? '(none)'}`,
      );
    }
    return { objects, next };
  }

  return {
    endpoint,
    listPage(bucket, options = {}) {
      return options.versions ? listVersions(bucket, options) : listObjects(bucket, options);
    },
    async headObject(bucket, key, versionId) {
      const answer = await call(
        bucket,
        async () => {
          try {
            return await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
          } catch (error) {
            // A HEAD's 404 has no body to say whether the object or the bucket is missing: ask about the bucket.
            if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
              await client.send(new HeadBucketCommand({ Bucket: bucket })).catch(bucketMissing);
            throw error;
          }
        },
        key,
      );
      return {
        contentType: answer.ContentType,
        metadata: answer.Metadata ?? {},
        size: answer.ContentLength ?? 0,
        etag: unquote(answer.ETag),
        lastModified: answer.LastModified ? iso(answer.LastModified) : undefined,
        versionId: answer.VersionId,
      };
    },
    close() {
      client.destroy();
    },
  };
}

/** HeadBucket's 404 (NotFound, no body) said as ListObjects says it. */
function bucketMissing(error: unknown): never {
  if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) {
    throw Object.assign(new Error('NoSuchBucket'), { name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } });
  }
  throw error;
}

/**
 * The SDK reads any 200 answer as a listing, a web page's as an empty one; a listing names its bucket. Taking a
 * page that is not S3's for an empty bucket would let a scan take every object for deleted.
 */
function notAListing(bucket: string, endpoint: string): S3AccessError {
  return new S3AccessError(
    'other',
    bucket,
    endpoint,
    'the answer is not an S3 listing of this bucket (is the endpoint an S3 API?)',
  );
}

/** A listing that cannot be followed to its end: retrying the same request would get the same answer. */
function badListing(bucket: string, endpoint: string, detail: string): S3AccessError {
  return new S3AccessError('bad-listing', bucket, endpoint, detail);
}

/**
 * The page without what the previous page already had: some servers answer the next page from the key's first
 * version again (versitygw 1.8.0 when the version id marker is a delete marker's), so when the marker's own
 * version is on the page, it and what precedes it are dropped. Markers are otherwise opaque (MinIO's key marker
 * carries a cache hint after the key), so nothing is compared with them.
 */
function pastMarkers(
  objects: S3Object[],
  { keyMarker, versionIdMarker }: { keyMarker: string; versionIdMarker?: string },
): S3Object[] {
  if (versionIdMarker === undefined) return objects;
  return objects.slice(
    objects.findIndex((object) => object.key === keyMarker && object.versionId === versionIdMarker) + 1,
  );
}

/** Keys come URL-encoded when the server applied encoding-type=url (it says so); as they are otherwise. */
function decoder(encodingType: string | undefined): (text: string) => string {
  return encodingType?.toLowerCase() === 'url'
    ? (text) => decodeURIComponent(text.replace(/\+/g, ' '))
    : (text) => text;
}

function unquote(etag: string | undefined): string {
  return (etag ?? '').replace(/^"(.*)"$/, '$1');
}

function iso(date: Date | undefined): string {
  return date ? date.toISOString() : '';
}

/** Versions and delete markers come in two lists; S3's one order is by key, then newest first. */
function mergeVersions(versions: S3Object[], markers: S3Object[]): S3Object[] {
  if (markers.length === 0) return versions;
  return [...versions, ...markers].sort(
    (a, b) =>
      compareObjectKeys(a.key, b.key) ||
      Number(b.isLatest) - Number(a.isLatest) ||
      b.lastModified.localeCompare(a.lastModified),
  );
}
