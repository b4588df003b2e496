// What a test file needs before its tests can mean anything: the stack's servers it talks to (probed with one TCP
// connect each, once per test process, all at once) and, for the few tests that run the compiled package, a
// current build. A file declares them at its top and takes node:test's functions from the answer:
//
//   const { test, before, after } = needs('temporal', 'postgres');
//
// Everything there: node:test's own functions. Something missing, outside CI (`CI` unset): every test of the file
// is reported skipped with one reason naming what is missing and the command that brings it up, and the file's
// hooks do not run (they would only fail on the missing server). Under CI (`CI=true`): every test fails with that
// reason instead, so a missing server can never pass for a green run.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as nodeTest from 'node:test';
import { Worker } from 'node:worker_threads';
import { endpoints } from '../../scripts/stack/endpoints';
import { temporalCliPath } from '../../scripts/stack/paths';

/** The stack's services (scripts/stack/services), by the names `npm run stack -- up <name>` takes. */
export type StackService =
  | 'temporal'
  | 'temporal-tls'
  | 'postgres'
  | 'mariadb'
  | 'redis'
  | 'rabbitmq'
  | 'nats'
  | 'mosquitto'
  | 'kafka'
  | 'elasticsearch';

/**
 * A need: a stack service, `temporal-cli` (the `temporal` binary the stack installs, for tests that start throw-away
 * dev servers of their own), `build` (dist/ compiled from the sources as they are now, for tests of the package) or
 * `alone` (the file's assertions hold only on a machine not also running other test files: scripts/test.sh runs
 * it after the others, one at a time; nothing to probe).
 */
export type Need = StackService | 'temporal-cli' | 'build' | 'alone';

export interface TestFunctions {
  test: typeof nodeTest.test;
  describe: typeof nodeTest.describe;
  before: typeof nodeTest.before;
  after: typeof nodeTest.after;
  beforeEach: typeof nodeTest.beforeEach;
  afterEach: typeof nodeTest.afterEach;
}

const repo = path.resolve(__dirname, '../..');
const CONNECT_TIMEOUT_MS = 1_000;

/** Where each service listens (host, port): the endpoints every test uses, so a moved endpoint is probed where it is.
 * */
function addresses(service: StackService): Array<[string, number]> {
  switch (service) {
    case 'temporal':
      return [hostPort(endpoints.temporal)];
    case 'temporal-tls':
      return [endpoints.temporalTls, endpoints.temporalMtls, endpoints.temporalApiKey].map(hostPort);
    case 'postgres':
      return [urlHostPort(endpoints.postgres, 5432)];
    case 'mariadb':
      return [urlHostPort(endpoints.mysql, 3306)];
    case 'redis':
      return [hostPort(endpoints.redis)];
    case 'rabbitmq':
      return [urlHostPort(endpoints.amqp, 5672)];
    case 'nats':
      return [hostPort(endpoints.nats.replace(/^nats:\/\//, ''))];
    case 'mosquitto':
      return [urlHostPort(endpoints.mqtt, 1883)];
    case 'kafka':
      return [hostPort(endpoints.kafka)];
    case 'elasticsearch':
      return [urlHostPort(endpoints.elasticsearch, 9200)];
  }
}

function hostPort(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at).replace(/^\[|\]$/g, ''), Number(address.slice(at + 1))];
}

function urlHostPort(url: string, defaultPort: number): [string, number] {
  const parsed = new URL(url);
  return [parsed.hostname.replace(/^\[|\]$/g, ''), Number(parsed.port) || defaultPort];
}

// A worker thread connects to every address not yet known, all at once, and writes why each failed ('' = it
// answered) into shared memory while this thread waits: synchronous on purpose, since a file's tests are declared
// (skipped or not) while its module loads. A thread, not a child process: half the start-up time.
const PROBE = `
const net = require('node:net');
const { workerData: { targets, shared } } = require('node:worker_threads');
Promise.all(targets.map(([host, port]) => new Promise((resolve) => {
  const socket = net.connect({ host, port, timeout: ${CONNECT_TIMEOUT_MS} });
  const done = (why) => { socket.destroy(); resolve(why); };
  socket.once('connect', () => done(''));
  socket.once('timeout', () => done('no answer in ${CONNECT_TIMEOUT_MS} ms'));
  socket.once('error', (error) => done(error.code || error.message));
}))).then((answers) => {
  const bytes = new TextEncoder().encode(JSON.stringify(answers)).subarray(0, shared.byteLength - 8);
  new Uint8Array(shared, 8).set(bytes);
  const header = new Int32Array(shared, 0, 2);
  header[1] = bytes.length;
  Atomics.store(header, 0, 1);
  Atomics.notify(header, 0);
});
`;

/** host:port -> why it does not answer ('' when it does); each address is probed once per process. */
const probed = new Map<string, string>();

function probe(targets: Array<[string, number]>): void {
  const unknown = targets.filter(([host, port]) => !probed.has(`${host}:${port}`));
  if (unknown.length === 0) return;
  const shared = new SharedArrayBuffer(8 + 64 * 1024);
  const header = new Int32Array(shared, 0, 2);
  const thread = new Worker(PROBE, { eval: true, workerData: { targets: unknown, shared } });
  const waited = Atomics.wait(header, 0, 0, CONNECT_TIMEOUT_MS + 10_000);
  void thread.terminate();
  let answers: string[] = [];
  try {
    answers = JSON.parse(new TextDecoder().decode(new Uint8Array(shared, 8, header[1]).slice())) as string[];
  } catch {
    answers = unknown.map(() => `the probe did not finish (${waited})`);
  }
  unknown.forEach(([host, port], i) => probed.set(`${host}:${port}`, answers[i] ?? 'no answer'));
}

/** Why `need` is not met, or undefined when it is. */
function missing(need: Need): string | undefined {
  if (need === 'alone') return undefined;
  if (need === 'build') return buildIsCurrent() ? undefined : 'dist/ is missing or older than the sources';
  if (need === 'temporal-cli') {
    return existsSync(temporalCliPath()) ? undefined : `the temporal CLI is not installed at ${temporalCliPath()}`;
  }
  const down = addresses(need)
    .map(([host, port]) => [`${host}:${port}`, probed.get(`${host}:${port}`)] as const)
    .filter(([, why]) => why !== '');
  return down.length === 0
    ? undefined
    : down.map(([address, why]) => `nothing answers at ${address} (${why})`).join(', ');
}

function buildIsCurrent(): boolean {
  const recorded = path.join(repo, 'dist', '.source-hash');
  if (!existsSync(recorded)) return false;
  const current = spawnSync('bash', [path.join(repo, 'scripts', 'entry.sh'), '--source-hash'], { encoding: 'utf8' });
  return current.status === 0 && current.stdout.trim() === readFileSync(recorded, 'utf8').trim();
}

/** The command that provides what is missing. */
function remedy(needs: Need[]): string {
  const services = needs
    .map((need) => (need === 'temporal-cli' ? 'temporal' : need))
    .filter((need) => need !== 'build');
  const commands = [];
  if (services.length > 0) commands.push(`npm run stack -- up ${[...new Set(services)].join(' ')}`);
  if (needs.includes('build')) commands.push('npm run build');
  return commands.join(' && ');
}

/** In CI every test runs: `CI` set to anything but false/0. */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.CI) && !/^(false|0|no)$/i.test(env.CI ?? '');
}

function probeFor(wanted: Need[]): void {
  probe(
    wanted.flatMap((need) => (need === 'build' || need === 'temporal-cli' || need === 'alone' ? [] : addresses(need))),
  );
}

/** Probes what the file needs (once per process) and returns node:test's functions, or ones that skip (fail in CI). */
export function needs(...wanted: Need[]): TestFunctions {
  probeFor(wanted);
  const unmet = wanted.filter((need) => missing(need) !== undefined);
  const real: TestFunctions = {
    test: nodeTest.test,
    describe: nodeTest.describe,
    before: nodeTest.before,
    after: nodeTest.after,
    beforeEach: nodeTest.beforeEach,
    afterEach: nodeTest.afterEach,
  };
  if (unmet.length === 0) return real;
  const reason = `needs ${unmet.map((need) => `${need} (${missing(need)})`).join(', ')}; ${unmet.length > 1 ? 'they come' : 'it comes'} with: ${remedy(unmet)}`;
  return withoutTheirHooks(real, inCi() ? { fail: `CI runs every test, and this one ${reason}` } : { skip: reason });
}

/** `needs` for each need on its own (probed together), for a file whose tests each need another service. */
export function needsEach<N extends Need>(...wanted: N[]): Record<N, TestFunctions> {
  probeFor(wanted);
  return Object.fromEntries(wanted.map((need) => [need, needs(need)])) as Record<N, TestFunctions>;
}

type Instead = { skip: string } | { fail: string };

/** node:test's functions whose tests skip (or fail) with the reason and whose hooks never run. */
function withoutTheirHooks(real: TestFunctions, instead: Instead): TestFunctions {
  const noHook = () => {};
  const test = (...args: unknown[]) => {
    const name = args.find((arg) => typeof arg === 'string') as string | undefined;
    const options = (args.find((arg) => typeof arg === 'object' && arg !== null) ?? {}) as nodeTest.TestOptions;
    if ('skip' in instead) return real.test(name, { ...options, skip: instead.skip }, () => {});
    return real.test(name, options, () => {
      throw new Error(instead.fail);
    });
  };
  return {
    test: test as unknown as typeof nodeTest.test,
    // A suite's body still runs, so each of its tests is listed (skipped or failed) under its own name.
    describe: real.describe,
    before: noHook as typeof nodeTest.before,
    after: noHook as typeof nodeTest.after,
    beforeEach: noHook as typeof nodeTest.beforeEach,
    afterEach: noHook as typeof nodeTest.afterEach,
  };
}
