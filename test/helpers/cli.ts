// Runs the real `bin/bucketflow` asynchronously (an in-process engine keeps working meanwhile).
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Settings } from '../../src/settings';

const bin = path.resolve(__dirname, '../../bin/bucketflow');

export interface CliResult {
  code: number | null;
  out: string;
  err: string;
}

/** The CLI with the engine's config, data dir and task queue, as an operator on that machine runs it. */
export function cliFor(settings: Settings, extraEnv: Record<string, string> = {}) {
  const env = {
    ...process.env,
    BUCKETFLOW_CONFIG: settings.configFile ?? '',
    BUCKETFLOW_DATA_DIR: settings.dataDir,
    BUCKETFLOW_TASK_QUEUE: settings.taskQueue,
    TEMPORAL_ADDRESS: settings.temporalAddress,
    ...extraEnv,
  };
  return (...args: string[]) =>
    new Promise<CliResult>((resolve) => {
      const child = spawn(bin, args, { env });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d));
      child.stderr.on('data', (d: Buffer) => (err += d));
      child.on('close', (code) => resolve({ code, out: out.trim(), err: err.trim() }));
    });
}

/** Polls until `check` returns a value (visibility is eventually consistent). */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}
