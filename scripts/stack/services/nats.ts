// NATS server with JetStream from Debian's package, store under .stack/nats, 127.0.0.1:4222, no auth.
import { connect } from 'nats';
import { ensurePackages } from '../apt';
import { endpoints } from '../endpoints';
import { serviceDir } from '../paths';
import type { Service } from '../service';

const [host, port] = endpoints.nats.split(':');

export const nats: Service = {
  name: 'nats',
  endpoint: endpoints.nats,
  startTimeoutMs: 30_000,

  async install() {
    await ensurePackages(['nats-server']);
  },

  async prepare() {
    return {
      command: 'nats-server',
      args: ['-js', '-sd', serviceDir('nats', 'jetstream'), '-a', host, '-p', port, '-n', 'bucketflow'],
    };
  },

  async probe() {
    const connection = await connect({ servers: endpoints.nats, timeout: 3_000, reconnect: false });
    try {
      const manager = await connection.jetstreamManager({ timeout: 3_000 });
      await manager.getAccountInfo();
      return `nats-server ${connection.info?.version ?? '?'} (JetStream)`;
    } finally {
      await connection.close();
    }
  },
};
