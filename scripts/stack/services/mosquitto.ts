// Mosquitto MQTT broker from Debian's package, our own instance under .stack/mosquitto on
// 127.0.0.1:1883, anonymous.
import { mkdirSync, writeFileSync } from 'node:fs';
import { connectAsync } from 'mqtt';
import { ensurePackages } from '../apt';
import { endpoints } from '../endpoints';
import { serviceDir } from '../paths';
import type { Service } from '../service';

const url = new URL(endpoints.mqtt);

export const mosquitto: Service = {
  name: 'mosquitto',
  endpoint: `${url.hostname}:${url.port || 1883}`,
  startTimeoutMs: 30_000,

  async install() {
    await ensurePackages(['mosquitto']);
  },

  async prepare() {
    const dataDir = serviceDir('mosquitto', 'data');
    mkdirSync(dataDir, { recursive: true });
    const config = serviceDir('mosquitto', 'mosquitto.conf');
    writeFileSync(
      config,
      [
        `listener ${url.port || 1883} ${url.hostname}`,
        'allow_anonymous true',
        // Without it a QoS 1 batch's last PUBACKs wait ~40 ms in Nagle's buffer against the client's delayed ACK.
        'set_tcp_nodelay true',
        'persistence true',
        `persistence_location ${dataDir}/`,
        'log_dest stdout',
        '',
      ].join('\n'),
    );
    return { command: 'mosquitto', args: ['-c', config] };
  },

  async probe() {
    const client = await connectAsync(endpoints.mqtt, { connectTimeout: 3_000, reconnectPeriod: 0 });
    try {
      // Mosquitto announces itself on a retained $SYS topic.
      const version = await new Promise<string>((resolve) => {
        const fallback = setTimeout(() => resolve('MQTT broker (CONNACK received)'), 1_500);
        client.on('message', (_topic, payload) => {
          clearTimeout(fallback);
          resolve(payload.toString());
        });
        void client.subscribeAsync('$SYS/broker/version').catch(() => undefined);
      });
      return version;
    } finally {
      await client.endAsync();
    }
  },
};
