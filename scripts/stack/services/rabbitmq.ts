// RabbitMQ from Debian's package, our own node under .stack/rabbitmq on 127.0.0.1:5672 (guest/guest,
// loopback only). Erlang distribution and epmd are bound to loopback too.
import { mkdirSync, writeFileSync } from 'node:fs';
import amqp from 'amqplib';
import { ensurePackages } from '../apt';
import { endpoints } from '../endpoints';
import { serviceDir } from '../paths';
import type { Service } from '../service';

const url = new URL(endpoints.amqp);
const dir = (...rest: string[]) => serviceDir('rabbitmq', ...rest);

export const rabbitmq: Service = {
  name: 'rabbitmq',
  endpoint: `${url.hostname}:${url.port || 5672}`,
  startTimeoutMs: 90_000,

  async install() {
    await ensurePackages(['rabbitmq-server']);
  },

  async prepare() {
    mkdirSync(dir('mnesia'), { recursive: true });
    mkdirSync(dir('log'), { recursive: true });
    writeFileSync(
      dir('rabbitmq.conf'),
      [
        `listeners.tcp.default = ${url.hostname}:${url.port || 5672}`,
        'loopback_users.guest = true',
        'log.console = true',
        'log.console.level = warning',
        'log.file = false',
        '',
      ].join('\n'),
    );
    writeFileSync(dir('enabled_plugins'), '[].\n');
    writeFileSync(dir('rabbitmq-env.conf'), '');
    return {
      // The package's /usr/sbin wrapper switches to its own user; this is the server script itself.
      command: '/usr/lib/rabbitmq/bin/rabbitmq-server',
      args: [],
      env: {
        RABBITMQ_NODENAME: 'bucketflow@localhost',
        RABBITMQ_CONFIG_FILE: dir('rabbitmq.conf'),
        RABBITMQ_CONF_ENV_FILE: dir('rabbitmq-env.conf'),
        RABBITMQ_ENABLED_PLUGINS_FILE: dir('enabled_plugins'),
        RABBITMQ_MNESIA_BASE: dir('mnesia'),
        RABBITMQ_LOG_BASE: dir('log'),
        RABBITMQ_PID_FILE: dir('rabbitmq.pid'),
        RABBITMQ_DIST_PORT: '25672',
        ERL_EPMD_ADDRESS: '127.0.0.1',
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
      },
    };
  },

  async probe() {
    const connection = await amqp.connect(endpoints.amqp, { timeout: 3_000 });
    try {
      const channel = await connection.createChannel();
      await channel.close();
      return `RabbitMQ ${String(connection.connection.serverProperties.version)}`;
    } finally {
      await connection.close();
    }
  },
};
