// Target configs for tests, loaded the way a user's config.json is (aliases, durations, defaults).
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadTargetsConfig, parseArn, type TargetConfigByType, type TargetType } from '../../src/config';
import { PermanentDeliveryError } from '../../src/delivery/failure';

/** Loads `{"notify": {<type>: {"1": {enable: true, ...raw}}}}` and returns target 1's normalized config. */
export function targetConfig<T extends TargetType>(type: T, raw: Record<string, unknown>): TargetConfigByType[T] {
  const text = JSON.stringify({ notify: { [type]: { '1': { enable: true, ...raw } } } });
  const [entry] = loadTargetsConfig({ text, env: {}, region: 'us-east-1' }).targets;
  if (entry?.type !== type) throw new Error(`expected one ${type} target, got ${entry?.type}`);
  return entry.config as TargetConfigByType[T];
}

/** A loopback port nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Each override of a valid raw config is refused the way a user meets it: by the loader (formats, parameters
 * that go together) or by `create` (I/O such as PEM files), with a ConfigError that starts with the ARN and
 * names the field.
 */
export function assertConfigErrors<C>(
  arn: string,
  create: (arn: string, config: C) => unknown,
  valid: Record<string, unknown>,
  cases: Array<[Record<string, unknown>, RegExp]>,
): void {
  const { type } = parseArn(arn);
  for (const [override, expected] of cases) {
    assert.throws(
      () => create(arn, targetConfig(type, { ...valid, ...override }) as C),
      (err: Error) => {
        assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err.name}: ${err.message}`);
        assert.ok(err.message.startsWith(`${arn}: `), err.message);
        assert.match(err.message, expected);
        return true;
      },
    );
  }
}

/** `sending` fails with a retryable error (not a PermanentDeliveryError) whose message matches `pattern`. */
export async function assertRetryable(sending: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(sending, (err: Error) => {
    assert.ok(!(err instanceof PermanentDeliveryError), `expected a retryable error, got ${err.name}: ${err.message}`);
    assert.match(err.message, pattern);
    return true;
  });
}
