// PostgreSQL, MariaDB and Elasticsearch refuse to run as root. When the stack runs as root it runs every
// server as one unprivileged system user; otherwise as the invoking user.
import { execFileSync, type ExecFileSyncOptionsWithStringEncoding } from 'node:child_process';
import path from 'node:path';
import { runCommand } from './command';

export const STACK_USER = process.env.BUCKETFLOW_STACK_USER || 'bucketflow';

export interface RunAs {
  uid: number;
  gid: number;
}

const isRoot = process.getuid?.() === 0;
let cached: RunAs | undefined;

const quiet: ExecFileSyncOptionsWithStringEncoding = { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] };

function lookup(): RunAs | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', STACK_USER], quiet).trim());
    const gid = Number(execFileSync('id', ['-g', STACK_USER], quiet).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/** The uid/gid servers run as (created on first use when root), or undefined when not root. */
export async function serverUser(): Promise<RunAs | undefined> {
  if (!isRoot) return undefined;
  cached ??= lookup();
  if (!cached) {
    await runCommand('useradd', [
      '--system',
      '--no-create-home',
      '--home-dir',
      '/nonexistent',
      '--shell',
      '/usr/sbin/nologin',
      STACK_USER,
    ]);
    cached = lookup();
    if (!cached) throw new Error(`user ${STACK_USER}: could not be created`);
  }
  return cached;
}

/** Hands a service folder to the server user, and lets it reach that folder through its parents. */
export async function giveToServerUser(dir: string): Promise<void> {
  const user = await serverUser();
  if (!user) return;
  await runCommand('chown', ['-R', `${user.uid}:${user.gid}`, dir]);
  for (let parent = path.dirname(dir); parent !== path.dirname(parent); parent = path.dirname(parent)) {
    if (canTraverse(parent)) continue;
    // e.g. a checkout under /root (0700): the execute bit alone lets the server user pass through.
    await runCommand('chmod', ['o+x', parent]);
    console.log(`stack: chmod o+x ${parent} so user ${STACK_USER} can reach ${dir}`);
  }
}

function canTraverse(dir: string): boolean {
  try {
    execFileSync('setpriv', ['--reuid', STACK_USER, '--regid', STACK_USER, '--clear-groups', 'test', '-x', dir]);
    return true;
  } catch {
    return false;
  }
}

export function isRunningAsRoot(): boolean {
  return isRoot;
}
