// PostgreSQL from Debian's package, our own cluster under .stack/postgres on 127.0.0.1:5432, with the
// bucketflow login and database from endpoints.ts created over the cluster's unix socket.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { ensurePackages } from '../apt';
import { runCommand } from '../command';
import { endpoints } from '../endpoints';
import { serviceDir } from '../paths';
import type { Service } from '../service';

const url = new URL(endpoints.postgres);
const login = { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
const database = url.pathname.slice(1);
const dataDir = serviceDir('postgres', 'data');
const socketDir = serviceDir('postgres', 'run');

/** Debian installs each major under /usr/lib/postgresql/<major>/bin; take the newest. */
function binDir(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((entry) => /^\d+$/.test(entry)) : [];
  if (majors.length === 0) throw new Error(`postgres: no server under ${root}`);
  return path.join(root, String(Math.max(...majors.map(Number))), 'bin');
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** Creates the login (with this password) and a database it owns, unless there, as the superuser over the socket. */
export async function ensureLoginAndDatabase(user: string, password: string, ...databases: string[]): Promise<void> {
  const admin = new Client({ host: socketDir, port: Number(url.port || 5432), user: 'postgres', database: 'postgres' });
  await admin.connect();
  try {
    const role = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [user]);
    if (role.rowCount === 0) {
      await admin.query(`CREATE ROLE ${quoteIdent(user)} LOGIN PASSWORD ${quoteLiteral(password)}`);
    }
    for (const name of databases) {
      const db = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (db.rowCount === 0) await admin.query(`CREATE DATABASE ${quoteIdent(name)} OWNER ${quoteIdent(user)}`);
    }
  } finally {
    await admin.end();
  }
}

export const postgres: Service = {
  name: 'postgres',
  endpoint: `${url.hostname}:${url.port || 5432}`,
  startTimeoutMs: 60_000,
  stopSignal: 'SIGINT', // fast shutdown: rolls back open sessions instead of waiting for them

  async install() {
    await ensurePackages(['postgresql']);
  },

  async prepare(runAs) {
    mkdirSync(socketDir, { recursive: true });
    if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
      // The superuser authenticates only over the socket; TCP logins need a password.
      await runCommand(
        path.join(binDir(), 'initdb'),
        [
          '-D',
          dataDir,
          '-U',
          'postgres',
          '--auth-local=trust',
          '--auth-host=scram-sha-256',
          '-E',
          'UTF8',
          '--locale=C.UTF-8',
        ],
        { uid: runAs?.uid, gid: runAs?.gid },
      );
    }
    return {
      command: path.join(binDir(), 'postgres'),
      args: [
        '-D',
        dataDir,
        '-c',
        `listen_addresses=${url.hostname}`,
        '-c',
        `port=${url.port || 5432}`,
        '-c',
        `unix_socket_directories=${socketDir}`,
        '-c',
        'max_connections=200',
        '-c',
        'fsync=off',
      ], // a test server: speed over surviving a machine crash
    };
  },

  async bootstrap() {
    await ensureLoginAndDatabase(login.user, login.password, database);
  },

  async probe() {
    const client = new Client({ connectionString: endpoints.postgres, connectionTimeoutMillis: 3_000 });
    await client.connect();
    try {
      const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
      return `PostgreSQL ${rows[0].server_version}`;
    } finally {
      await client.end();
    }
  },
};
