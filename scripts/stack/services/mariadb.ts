// MariaDB (MySQL protocol) from Debian's package, our own data dir under .stack/mariadb on
// 127.0.0.1:3306. An init file, run at every start, creates the bucketflow database and login.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { ensurePackages } from '../apt';
import { runCommand } from '../command';
import { endpoints } from '../endpoints';
import { serviceDir } from '../paths';
import type { Service } from '../service';

const url = new URL(endpoints.mysql);
const login = { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
const database = url.pathname.slice(1);
const dataDir = serviceDir('mariadb', 'data');
const runDir = serviceDir('mariadb', 'run');

function initSql(): string {
  const esc = (value: string) => value.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
  const lines = [`CREATE DATABASE IF NOT EXISTS \`${database}\`;`];
  for (const host of ['localhost', '127.0.0.1', '%']) {
    const account = `'${esc(login.user)}'@'${host}'`;
    lines.push(`CREATE USER IF NOT EXISTS ${account} IDENTIFIED BY '${esc(login.password)}';`);
    lines.push(`GRANT ALL PRIVILEGES ON \`${database}\`.* TO ${account};`);
  }
  return `${lines.join('\n')}\n`;
}

export const mariadb: Service = {
  name: 'mariadb',
  endpoint: `${url.hostname}:${url.port || 3306}`,
  startTimeoutMs: 60_000,

  async install() {
    await ensurePackages(['mariadb-server']);
  },

  async prepare(runAs) {
    mkdirSync(runDir, { recursive: true });
    if (!existsSync(path.join(dataDir, 'mysql'))) {
      await runCommand(
        'mariadb-install-db',
        ['--no-defaults', `--datadir=${dataDir}`, '--skip-test-db', '--auth-root-authentication-method=socket'],
        { uid: runAs?.uid, gid: runAs?.gid, cwd: serviceDir('mariadb') },
      );
    }
    const initFile = serviceDir('mariadb', 'init.sql');
    writeFileSync(initFile, initSql());
    return {
      command: 'mariadbd',
      args: [
        '--no-defaults',
        `--datadir=${dataDir}`,
        `--socket=${path.join(runDir, 'mysqld.sock')}`,
        `--pid-file=${path.join(runDir, 'mysqld.pid')}`,
        `--bind-address=${url.hostname}`,
        `--port=${url.port || 3306}`,
        `--init-file=${initFile}`,
        '--innodb-buffer-pool-size=128M',
        '--innodb-flush-log-at-trx-commit=2',
        '--character-set-server=utf8mb4',
        '--max-connections=200',
      ],
    };
  },

  async probe() {
    const connection = await mysql.createConnection({ uri: endpoints.mysql, connectTimeout: 3_000 });
    try {
      const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT VERSION() AS version');
      return `MariaDB ${String(rows[0].version)}`;
    } finally {
      await connection.end();
    }
  },
};
