// Debian packages the servers come from. All services' missing packages go into one `apt-get install`
// (apt allows one at a time), after one `apt-get update`.
import { execFileSync } from 'node:child_process';
import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import { runCommand } from './command';
import { isRunningAsRoot } from './user';

interface Batch {
  packages: Set<string>;
  done: Promise<void>;
}

let gathering: Batch | undefined;
let queue: Promise<void> = Promise.resolve();
let updated = false;

function isInstalled(pkg: string): boolean {
  try {
    const status = execFileSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8', stdio: 'pipe' });
    return status.includes('install ok installed');
  } catch {
    return false;
  }
}

/** Installs the packages that are missing. Calls made while a batch is still open share its apt run. */
export async function ensurePackages(packages: string[]): Promise<void> {
  const missing = packages.filter((pkg) => !isInstalled(pkg));
  if (missing.length === 0) return;
  gathering ??= openBatch();
  for (const pkg of missing) gathering.packages.add(pkg);
  await gathering.done;
}

function openBatch(): Batch {
  const packages = new Set<string>();
  const done = queue
    .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
    .then(() => {
      gathering = undefined;
      return install([...packages]);
    });
  queue = done.catch(() => {});
  return { packages, done };
}

async function install(packages: string[]): Promise<void> {
  const sudo = isRunningAsRoot() ? [] : ['sudo', '-n'];
  const aptGet = (...args: string[]) => {
    const [command, ...rest] = [...sudo, 'apt-get', ...args];
    return runCommand(command, rest, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  };
  console.log(`stack: apt-get install ${packages.join(' ')}`);
  const unblock = blockServiceStarts();
  try {
    if (!updated) await aptGet('update', '-q');
    updated = true;
    await aptGet('install', '-y', '-q', '--no-install-recommends', ...packages);
  } finally {
    unblock();
  }
}

const POLICY = '/usr/sbin/policy-rc.d';

/** Stops package scripts from starting the distribution's own servers on our ports. */
function blockServiceStarts(): () => void {
  if (!isRunningAsRoot() || existsSync(POLICY)) return () => {};
  writeFileSync(POLICY, '#!/bin/sh\n# written by bucketflow stack during apt-get install\nexit 101\n', { mode: 0o755 });
  return () => unlinkSync(POLICY);
}
