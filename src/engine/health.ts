// Liveness and readiness over HTTP for process supervisors and Kubernetes probes. Ready (200) only while the
// worker polls its task queue (state RUNNING): not while it starts, and not from the moment SIGTERM starts the
// drain, so traffic and rollouts move elsewhere while in-flight work finishes. Alive (200) until it has failed.
// Off unless BUCKETFLOW_HEALTH_PORT is set.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { State } from '@temporalio/worker';
import type { HealthSettings } from '../settings';

export interface HealthServer {
  url: string;
  close(): Promise<void>;
}

/** Serves GET /livez and /readyz (also /healthz = /livez) from `state()`, the worker's state. */
export async function serveHealth(state: () => State, settings: HealthSettings): Promise<HealthServer | undefined> {
  if (settings.port === undefined) return undefined;
  const server = http.createServer((req, res) => {
    const current = state();
    const path = (req.url ?? '/').split('?')[0];
    const answer = (ok: boolean) => {
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ status: ok ? 'ok' : 'unavailable', state: current }));
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
    if (path === '/livez' || path === '/healthz') return answer(current !== 'FAILED');
    if (path === '/readyz') return answer(current === 'RUNNING');
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'GET /livez or /readyz' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
