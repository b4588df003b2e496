// Opt-in (`npm run stack -- up versitygw`): the Versity S3 gateway, built once from its Go module
// (scripts/stack/go.ts), over its posix backend: each bucket a folder of .stack/versitygw/data, object metadata
// in extended attributes, versions under .stack/versitygw/versions (so bucket versioning works). It listens on
// endpoints.versitygw (loopback) with the stack's key as its root account, passed in its environment.
import { mkdirSync } from 'node:fs';
import { endpoints } from '../endpoints';
import { goInstall } from '../go';
import { isExecutable, serviceDir } from '../paths';
import { probeS3, s3Server } from '../s3';
import type { Service } from '../service';

/** v1.8.0 needs Go 1.25 (go.mod), which the machine's Go covers. */
export const VERSITYGW_MODULE = 'github.com/versity/versitygw/cmd/versitygw@v1.8.0';
const dir = (...rest: string[]) => serviceDir('versitygw', ...rest);
const gatewayBinary = dir('bin', 'versitygw');
export const versitygwServer = s3Server(endpoints.versitygw);

export const versitygw: Service = {
  name: 'versitygw',
  endpoint: versitygwServer.endpoint,
  startTimeoutMs: 30_000,
  optIn: true,

  async install() {
    await goInstall('versitygw', dir('bin'), [VERSITYGW_MODULE], [gatewayBinary]);
  },

  async prepare() {
    mkdirSync(dir('data'), { recursive: true });
    mkdirSync(dir('versions'), { recursive: true });
    return {
      command: gatewayBinary,
      args: [
        '--port',
        `${versitygwServer.host}:${versitygwServer.port}`,
        '--quiet',
        'posix',
        '--versioning-dir',
        dir('versions'),
        dir('data'),
      ],
      env: {
        ROOT_ACCESS_KEY_ID: versitygwServer.accessKeyId,
        ROOT_SECRET_ACCESS_KEY: versitygwServer.secretAccessKey,
        VGW_REGION: 'us-east-1',
      },
      cwd: dir(),
    };
  },

  async probe() {
    const answer = await probeS3(versitygwServer);
    return isExecutable(gatewayBinary) ? `${answer} (built from ${VERSITYGW_MODULE.split('@')[1]})` : answer;
  },
};
