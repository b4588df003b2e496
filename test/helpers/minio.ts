// A MinIO server of a test's own, for what the stack's shared one must not change: its notification targets are set
// at start from MINIO_NOTIFY_* variables (e.g. a webhook pointed at the test's ingest). The binary is the stack's
// (`npm run stack -- up minio` builds it from its Go module); this server has its own port, data dir and log, on
// loopback, with the stack's root credentials, and is killed with the test.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { endpoints } from '../../scripts/stack/endpoints';
import { serviceDir, isExecutable } from '../../scripts/stack/paths';
import { probeS3, s3Server, type S3Server } from '../../scripts/stack/s3';

export interface OwnMinio {
  server: S3Server;
  /** Its log (stdout and stderr), for a test to show what MinIO said (e.g. events it dropped). */
  logFile: string;
  stop(): Promise<void>;
}

/** A free loopback port. */
export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Starts MinIO with `env` (MINIO_NOTIFY_* and the like) added; resolves once it answers a signed ListBuckets. */
export async function startOwnMinio(env: Record<string, string>): Promise<OwnMinio> {
  const binary = serviceDir('minio', 'bin', 'minio');
  if (!isExecutable(binary)) throw new Error(`${binary} is missing: run npm run stack -- up minio`);
  const stack = s3Server(endpoints.minio);
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), 'bucketflow-minio-'));
  const logFile = path.join(dir, 'minio.log');
  const log = createWriteStream(logFile);
  const child: ChildProcess = spawn(
    binary,
    [
      'server',
      '--address',
      `127.0.0.1:${port}`,
      '--console-address',
      `127.0.0.1:${await freePort()}`,
      path.join(dir, 'data'),
    ],
    {
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        MINIO_ROOT_USER: stack.accessKeyId,
        MINIO_ROOT_PASSWORD: stack.secretAccessKey,
        MINIO_UPDATE: 'off',
        MINIO_CALLHOME_ENABLE: 'off',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const server = s3Server(
    `http://${encodeURIComponent(stack.accessKeyId)}:${encodeURIComponent(stack.secretAccessKey)}@127.0.0.1:${port}`,
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    child.kill('SIGKILL');
    await exited;
    log.end();
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`minio exited (${child.exitCode}) at start: see ${logFile}`);
    if (
      await probeS3(server).then(
        () => true,
        () => false,
      )
    )
      return { server, logFile, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error('minio did not answer within 60 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}
