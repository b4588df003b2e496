// Opt-in (`npm run stack -- up s3proxy`, or the group `s3`): S3Proxy, the S3 API over Apache jclouds, from Maven
// Central jars (org.gaul:s3proxy and its runtime dependencies, as the Kafka service gets its own) on the Java the
// stack already uses: a fourth S3 implementation, of another lineage than the three Go servers. Its NIO.2 filesystem
// store keeps the buckets under .stack/s3proxy/data (jclouds' older `filesystem` store lists each folder as an
// object). It checks AWS signatures (v2 and v4) against the stack's key, keeps no versions (ListObjectVersions is
// NotImplemented), and logs at WARN through a logback.xml written at start.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { endpoints } from '../endpoints';
import { copyDependencies, javaHome } from '../maven';
import { serviceDir } from '../paths';
import { probeS3, s3Server } from '../s3';
import type { Service } from '../service';

export const S3PROXY_VERSION = '2.6.0';
const dir = (...rest: string[]) => serviceDir('s3proxy', ...rest);
const libs = dir('libs');
export const s3proxyServer = s3Server(endpoints.s3proxy);

function properties(): string {
  return [
    `s3proxy.endpoint=${s3proxyServer.endpoint}`,
    's3proxy.authorization=aws-v2-or-v4',
    `s3proxy.identity=${s3proxyServer.accessKeyId}`,
    `s3proxy.credential=${s3proxyServer.secretAccessKey}`,
    'jclouds.provider=filesystem-nio2',
    'jclouds.identity=local', // the store's own login, unused by a local folder, required all the same
    'jclouds.credential=local',
    `jclouds.filesystem.basedir=${dir('data')}`,
    '',
  ].join('\n');
}

const LOGBACK = `<configuration>
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{ISO8601} %-5level %logger{20} - %msg%n</pattern></encoder>
  </appender>
  <root level="WARN"><appender-ref ref="STDOUT"/></root>
</configuration>
`;

export const s3proxy: Service = {
  name: 's3proxy',
  endpoint: s3proxyServer.endpoint,
  startTimeoutMs: 60_000,
  optIn: true,

  async install() {
    if (existsSync(path.join(libs, `s3proxy-${S3PROXY_VERSION}.jar`))) return;
    await copyDependencies(libs, [{ groupId: 'org.gaul', artifactId: 's3proxy', version: S3PROXY_VERSION }]);
  },

  async prepare() {
    mkdirSync(dir('data'), { recursive: true });
    writeFileSync(dir('s3proxy.conf'), properties(), { mode: 0o600 });
    writeFileSync(dir('logback.xml'), LOGBACK);
    return {
      command: path.join(javaHome(), 'bin', 'java'),
      args: [
        '-Xmx256m',
        `-Dlogback.configurationFile=${dir('logback.xml')}`,
        '-cp',
        `${libs}/*`,
        'org.gaul.s3proxy.Main',
        '--properties',
        dir('s3proxy.conf'),
      ],
      cwd: dir(),
    };
  },

  async probe() {
    const answer = await probeS3(s3proxyServer);
    return `S3Proxy ${S3PROXY_VERSION}, ${answer}`;
  },
};
