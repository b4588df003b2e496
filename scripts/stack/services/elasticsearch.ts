// Elasticsearch 8 single node from Maven Central's integ-test-zip distribution (no bundled JDK: runs on
// the system Java 17), unzipped under .stack/elasticsearch, 127.0.0.1:9200, security off.
// That distribution leaves out the rest-root module: `GET /` and `HEAD /` (client.info(), ping()) answer
// 405; every other API the project uses is there.
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensurePackages } from '../apt';
import { runCommand } from '../command';
import { endpoints } from '../endpoints';
import { copyArtifact, javaHome } from '../maven';
import { serviceDir } from '../paths';
import type { Service } from '../service';

export const ELASTICSEARCH_VERSION = '8.19.21';
const url = new URL(endpoints.elasticsearch);
const dir = (...rest: string[]) => serviceDir('elasticsearch', ...rest);
const home = dir('home');

function settings(): string {
  return [
    'cluster.name: bucketflow',
    'node.name: bucketflow-1',
    `network.host: ${url.hostname}`,
    `http.port: ${url.port || 9200}`,
    'transport.port: 9300',
    'discovery.type: single-node',
    `path.data: ${dir('data')}`,
    `path.logs: ${dir('logs')}`,
    'xpack.security.enabled: false',
    'cluster.routing.allocation.disk.threshold_enabled: false',
    '',
  ].join('\n');
}

async function getJson(pathAndQuery: string): Promise<Record<string, unknown>> {
  const response = await fetch(new URL(pathAndQuery, endpoints.elasticsearch), { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`elasticsearch ${pathAndQuery}: HTTP ${response.status}`);
  return (await response.json()) as Record<string, unknown>;
}

export const elasticsearch: Service = {
  name: 'elasticsearch',
  endpoint: `${url.hostname}:${url.port || 9200}`,
  startTimeoutMs: 180_000,

  async install() {
    if (existsSync(path.join(home, 'bin', 'elasticsearch'))) return;
    const zip = await copyArtifact(
      dir('download'),
      {
        groupId: 'org.elasticsearch.distribution.integ-test-zip',
        artifactId: 'elasticsearch',
        version: ELASTICSEARCH_VERSION,
      },
      'zip',
    );
    await ensurePackages(['unzip']);
    const unpacked = dir('unpacked');
    rmSync(unpacked, { recursive: true, force: true });
    await runCommand('unzip', ['-q', zip, '-d', unpacked]);
    renameSync(path.join(unpacked, `elasticsearch-${ELASTICSEARCH_VERSION}`), home);
    rmSync(unpacked, { recursive: true, force: true });
    rmSync(dir('download'), { recursive: true, force: true }); // the zip stays in ~/.m2
  },

  async prepare() {
    mkdirSync(dir('data'), { recursive: true });
    mkdirSync(dir('logs'), { recursive: true });
    mkdirSync(dir('tmp'), { recursive: true });
    writeFileSync(path.join(home, 'config', 'elasticsearch.yml'), settings());
    writeFileSync(path.join(home, 'config', 'jvm.options.d', 'heap.options'), '-Xms512m\n-Xmx1g\n');
    return {
      command: path.join(home, 'bin', 'elasticsearch'),
      args: [],
      env: { ES_JAVA_HOME: javaHome(), ES_TMPDIR: dir('tmp') },
      cwd: home,
    };
  },

  async probe() {
    const health = await getJson('/_cluster/health?wait_for_status=yellow&timeout=2s');
    if (health.timed_out !== false) throw new Error(`elasticsearch: cluster status ${String(health.status)}`);
    const nodes = (await getJson('/_nodes/_local?filter_path=nodes.*.version')).nodes as Record<
      string,
      { version: string }
    >;
    return `Elasticsearch ${Object.values(nodes)[0]?.version ?? '?'} (${String(health.status)})`;
  },
};
