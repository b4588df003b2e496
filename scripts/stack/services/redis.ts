// Redis from Debian's package, our own instance under .stack/redis on 127.0.0.1:6379, no auth.
import Redis from 'ioredis';
import { ensurePackages } from '../apt';
import { endpoints } from '../endpoints';
import { serviceDir } from '../paths';
import type { Service } from '../service';

const [host, port] = endpoints.redis.split(':');

export const redis: Service = {
  name: 'redis',
  endpoint: endpoints.redis,
  startTimeoutMs: 30_000,

  async install() {
    await ensurePackages(['redis-server']);
  },

  async prepare() {
    return {
      command: 'redis-server',
      args: [
        '--bind',
        host,
        '--port',
        port,
        '--dir',
        serviceDir('redis'),
        '--appendonly',
        'yes',
        '--daemonize',
        'no',
        '--save',
        '',
        '--protected-mode',
        'yes',
      ],
    };
  },

  async probe() {
    const client = new Redis({
      host,
      port: Number(port),
      lazyConnect: true,
      connectTimeout: 3_000,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => {}); // connect() rejects with the same error
    await client.connect();
    try {
      const pong = await client.ping();
      if (pong !== 'PONG') throw new Error(`redis PING answered ${pong}`);
      const info = await client.info('server');
      return `Redis ${/redis_version:(\S+)/.exec(info)?.[1] ?? '?'}`;
    } finally {
      client.disconnect();
    }
  },
};
