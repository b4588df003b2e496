// An ingest server whose Temporal is out of reach (a port where nothing listens), for the tests of what the
// ingest refuses before anything could start: a request it lets through gets 503 (Temporal unreachable), one it
// refuses gets its own answer. Needs no stack.
import type { AddressInfo } from 'node:net';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { BucketflowClient } from '../../src/publish/publisher';
import { buildIngestServer, type IngestOptions } from '../../src/http/server';
import { freePort } from './target-config';

export interface UnreachableIngest {
  url: string;
  port: number;
  app: FastifyInstance;
  close(): Promise<void>;
}

export async function unreachableIngest(options: Omit<IngestOptions, 'publisher'> = {}): Promise<UnreachableIngest> {
  // Two quick attempts instead of the SDK's ten with backoff: the answer is the same, only sooner.
  const retry = makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: 2, initialIntervalMs: () => 50 }));
  const connection = Connection.lazy({ address: `127.0.0.1:${await freePort()}`, interceptors: [retry] });
  const app = buildIngestServer({
    publisher: new BucketflowClient(new Client({ connection }), { taskQueue: 'bucketflow' }),
    ...options,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    app,
    close: async () => {
      await app.close();
      await connection.close();
    },
  };
}
