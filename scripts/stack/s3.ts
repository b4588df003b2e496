// What the stack's S3 servers (minio, seaweedfs, versitygw) share: their URL from endpoints.ts split into the
// endpoint and the root credentials it carries, and the probe: a signed ListBuckets, a real S3 round trip with
// those credentials (a server that answers HTTP but refuses the stack's key fails it).
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';

export interface S3Server {
  /** The endpoint without credentials (what the status table shows, what clients connect to). */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  host: string;
  port: string;
}

/** `http://key:secret@host:port` -> its parts; the URL's credentials are percent-decoded. */
export function s3Server(url: string): S3Server {
  const parsed = new URL(url);
  if (!parsed.username || !parsed.password)
    throw new Error(`S3 server URL for ${parsed.host}: expected http://ACCESS_KEY:SECRET@host:port`);
  return {
    endpoint: `${parsed.protocol}//${parsed.host}`,
    accessKeyId: decodeURIComponent(parsed.username),
    secretAccessKey: decodeURIComponent(parsed.password),
    host: parsed.hostname,
    port: parsed.port || (parsed.protocol === 'https:' ? '443' : '80'),
  };
}

/**
 * An SDK client for a stack server (path-style: the servers answer on an IP address). It sends checksums only
 * where S3 requires them: the SDK's default CRC32 headers on every upload are refused by S3Proxy (NotImplemented).
 */
export function stackS3Client(server: S3Server): S3Client {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'; // as src/s3/client.ts: no Node 22 notice in the table
  return new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 5_000 },
  });
}

/** Resolves to "<server header>, N buckets" once the server lists its buckets for the stack's credentials. */
export async function probeS3(server: S3Server): Promise<string> {
  const client = stackS3Client(server);
  let serverHeader: string | undefined;
  client.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      serverHeader = (result.response as { headers?: Record<string, string> }).headers?.server;
      return result;
    },
    { step: 'deserialize', name: 'stackServerHeader' },
  );
  try {
    const { Buckets } = await client.send(new ListBucketsCommand({}));
    return `${serverHeader ?? 'S3'}, ListBuckets: ${Buckets?.length ?? 0} buckets`;
  } finally {
    client.destroy();
  }
}
