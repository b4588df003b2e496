// Servers the stack started: spawned detached (own process group, output to the service log) and
// recorded under .stack/<name>/pid.json with their start time, so `down` never signals a stranger that
// reused the pid.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { logFile, serviceDir } from './paths';
import type { RunAs } from './user';

export interface LaunchSpec {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  runAs?: RunAs;
}

interface PidRecord {
  pid: number;
  startTime: string;
  command: string;
}

export interface Launched {
  pid: number;
  /** Set once the process has exited (an error naming its exit code), while this process watches it. */
  exitError(): Error | undefined;
}

const pidFile = (name: string) => serviceDir(name, 'pid.json');

/** The kernel's start time of a live pid (field 22 of /proc/<pid>/stat); undefined if gone or a zombie. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

/** The pid of this service's server if the stack started it and it still runs. */
export function ownedPid(name: string): number | undefined {
  let record: PidRecord;
  try {
    record = JSON.parse(readFileSync(pidFile(name), 'utf8')) as PidRecord;
  } catch {
    return undefined;
  }
  return startTimeOf(record.pid) === record.startTime ? record.pid : undefined;
}

export function launch(name: string, spec: LaunchSpec): Launched {
  mkdirSync(serviceDir(name), { recursive: true });
  const log = openSync(logFile(name), 'a');
  writeFileSync(log, `\n=== ${new Date().toISOString()} stack: ${spec.command} ${spec.args.join(' ')}\n`);
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env ?? process.env,
    detached: true,
    stdio: ['ignore', log, log],
    uid: spec.runAs?.uid,
    gid: spec.runAs?.gid,
  });
  closeSync(log);
  let exitError: Error | undefined;
  child.on('error', (error) => (exitError = error));
  child.on('exit', (code, signal) => (exitError = new Error(`${name}: process exited with ${code ?? signal}`)));
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: could not start ${spec.command}`);
  const record: PidRecord = { pid, startTime: startTimeOf(pid) ?? '', command: spec.command };
  writeFileSync(pidFile(name), JSON.stringify(record));
  return { pid, exitError: () => exitError };
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops the server's whole process group: the signal, then SIGKILL if it is still there after the grace. */
export async function stopOwned(name: string, signal: NodeJS.Signals, graceMs: number): Promise<boolean> {
  const pid = ownedPid(name);
  if (pid === undefined) {
    rmSync(pidFile(name), { force: true });
    return false;
  }
  process.kill(-pid, signal);
  const until = Date.now() + graceMs;
  while (groupAlive(pid) && Date.now() < until) await sleep(200);
  if (groupAlive(pid)) process.kill(-pid, 'SIGKILL');
  // Bounded: where pid 1 does not reap orphans, killed processes linger as zombies.
  for (let i = 0; i < 50 && groupAlive(pid) && ownedPid(name) !== undefined; i++) await sleep(100);
  rmSync(pidFile(name), { force: true });
  return true;
}

/** The last lines of a service's log, for failure messages and `stack logs`. */
export function logTail(name: string, lines: number): string {
  try {
    return readFileSync(logFile(name), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return `(no log at ${logFile(name)})`;
  }
}
