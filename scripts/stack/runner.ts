// `up`, `down` and `status` over a list of services: each service on its own, all in parallel.
import { mkdirSync } from 'node:fs';
import { errorMessage, withTimeout } from '../../src/errors';
import { launch, logTail, ownedPid, stopOwned, type Launched } from './processes';
import { serviceDir, logFile } from './paths';
import type { Service } from './service';
import type { StatusRow } from './table';
import { giveToServerUser, serverUser } from './user';
import { waitFor } from './wait';

const PROBE_TIMEOUT_MS = 10_000;
const LOG_TAIL_LINES = 25;

/** The version if the service answers its protocol now, else undefined. */
async function answering(service: Service, timeoutMs = 5_000): Promise<string | undefined> {
  try {
    return await withTimeout(service.probe(), timeoutMs, service.name);
  } catch {
    return undefined;
  }
}

async function startOwn(service: Service): Promise<Launched | undefined> {
  if (ownedPid(service.name) !== undefined) return undefined; // still booting from an earlier `up`
  await service.install();
  const dir = serviceDir(service.name);
  mkdirSync(dir, { recursive: true });
  const runAs = await serverUser();
  await giveToServerUser(dir);
  const spec = await service.prepare(runAs);
  await giveToServerUser(dir);
  // HOME inside the service folder: servers keep dotfiles there (CLI config, Erlang cookie).
  return launch(service.name, { ...spec, env: { ...process.env, HOME: dir, ...spec.env }, runAs });
}

async function waitUntilAnswering(service: Service, launched: Launched | undefined): Promise<string> {
  const abort = () =>
    launched?.exitError() ?? (ownedPid(service.name) === undefined ? new Error('process is gone') : undefined);
  const options = { timeoutMs: service.startTimeoutMs, abort };
  const bootstrap = service.bootstrap?.bind(service);
  try {
    if (bootstrap) await waitFor(() => withTimeout(bootstrap(), PROBE_TIMEOUT_MS, service.name), options);
    return await waitFor(() => withTimeout(service.probe(), PROBE_TIMEOUT_MS, service.name), options);
  } catch (error) {
    if (launched) throw error;
    throw new Error(
      `${errorMessage(error)} (its server from an earlier up never answered: npm run stack -- down ${service.name})`,
    );
  }
}

export async function up(service: Service): Promise<StatusRow> {
  const began = Date.now();
  const row = (state: string, detail: string): StatusRow => ({
    service: service.name,
    state,
    detail,
    endpoint: service.endpoint,
    pid: ownedPid(service.name),
    seconds: (Date.now() - began) / 1000,
  });
  try {
    const version = await answering(service);
    if (version !== undefined) {
      await service.provision?.();
      return row(ownedPid(service.name) === undefined ? 'reused' : 'running', version);
    }
    for (const required of service.requires ?? []) {
      await waitFor(() => withTimeout(required.probe(), PROBE_TIMEOUT_MS, required.name), {
        timeoutMs: required.startTimeoutMs,
      }).catch((error: unknown) => {
        throw new Error(`needs ${required.name}, which does not answer: ${errorMessage(error)}`);
      });
    }
    const launched = await startOwn(service);
    const started = await waitUntilAnswering(service, launched);
    await service.provision?.();
    return row('started', started);
  } catch (error) {
    return row(
      'FAILED',
      `${errorMessage(error)}\n--- tail of ${logFile(service.name)}:\n${logTail(service.name, LOG_TAIL_LINES)}`,
    );
  }
}

export async function down(service: Service): Promise<StatusRow> {
  const stopped = await stopOwned(service.name, service.stopSignal ?? 'SIGTERM', 60_000);
  const stillAnswering = await answering(service, 3_000);
  const detail = stillAnswering ? `still answering, not started by the stack: ${stillAnswering}` : '';
  const state = stopped ? 'stopped' : stillAnswering ? 'external' : 'not running';
  return { service: service.name, state, endpoint: service.endpoint, detail };
}

export async function status(service: Service): Promise<StatusRow> {
  const pid = ownedPid(service.name);
  const version = await answering(service);
  const state =
    version !== undefined
      ? pid === undefined
        ? 'reused'
        : 'running'
      : pid === undefined
        ? 'stopped'
        : 'not answering';
  return { service: service.name, state, pid, endpoint: service.endpoint, detail: version ?? '' };
}
