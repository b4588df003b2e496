// Opt-in (`npm run stack -- up minio`, never a bare `up`): a MinIO server and its `mc` client, built once from
// their Go modules (scripts/stack/go.ts; minutes on 2 cores, seconds with the machine's Go caches), one drive
// under .stack/minio/data, S3 API on endpoints.minio and the console on endpoints.minioConsole, both on
// loopback, with the stack's fixed root credentials. `mc` runs against it through the alias `stack`
// (mcCommand), for what the S3 API does not do (e.g. a server's notification targets).
import { endpoints } from '../endpoints';
import { goInstall } from '../go';
import { isExecutable, serviceDir } from '../paths';
import { probeS3, s3Server } from '../s3';
import type { Service } from '../service';

/** Pseudo-versions of the Go modules (MinIO's community server has no tagged module release). */
export const MINIO_MODULE = 'github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c';
export const MC_MODULE = 'github.com/minio/mc@v0.0.0-20250313080218-cf909e1063a9';

const dir = (...rest: string[]) => serviceDir('minio', ...rest);
const minioBinary = dir('bin', 'minio');
const mcBinary = dir('bin', 'mc');
export const minioServer = s3Server(endpoints.minio);

/** `mc` with the alias `stack` pointing at the stack's MinIO (MC_HOST_stack carries the credentials, never argv). */
export function mcCommand(): { command: string; env: NodeJS.ProcessEnv; args: string[] } {
  const { protocol, host } = new URL(minioServer.endpoint);
  const userinfo = `${encodeURIComponent(minioServer.accessKeyId)}:${encodeURIComponent(minioServer.secretAccessKey)}`;
  return {
    command: mcBinary,
    args: ['--config-dir', dir('mc-config'), '--no-color'],
    env: { ...process.env, MC_HOST_stack: `${protocol}//${userinfo}@${host}` },
  };
}

export const minio: Service = {
  name: 'minio',
  endpoint: `${minioServer.endpoint} (console ${endpoints.minioConsole})`,
  startTimeoutMs: 60_000,
  optIn: true,

  async install() {
    await goInstall('minio', dir('bin'), [MINIO_MODULE, MC_MODULE], [minioBinary, mcBinary]);
  },

  async prepare() {
    const console = new URL(endpoints.minioConsole);
    return {
      command: minioBinary,
      args: [
        'server',
        '--quiet',
        '--address',
        `${minioServer.host}:${minioServer.port}`,
        '--console-address',
        console.host,
        dir('data'),
      ],
      env: {
        MINIO_ROOT_USER: minioServer.accessKeyId,
        MINIO_ROOT_PASSWORD: minioServer.secretAccessKey,
        MINIO_UPDATE: 'off',
        MINIO_CALLHOME_ENABLE: 'off',
      },
      cwd: dir(),
    };
  },

  async probe() {
    // A binary built with go install says DEVELOPMENT.GOGET; the module's pseudo-version says which source it is.
    const answer = await probeS3(minioServer);
    return isExecutable(minioBinary) ? `${answer} (built from ${MINIO_MODULE.split('@')[1]})` : answer;
  },
};
