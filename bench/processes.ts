// Child processes the benchmark measures on their own (workers, the baseline loop): bench scripts from the
// repo's TypeScript, entry points as `npm run <entry>` runs them (scripts/entry.sh: dist/ when built and
// current), ready when they print a marker, stopped with SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '..');

export interface Child {
  process: ChildProcess;
  pid: number;
  /** Resolves with the first line on stdout or stderr that contains `marker`. */
  waitFor(marker: string, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

export function startChild(script: string, env: NodeJS.ProcessEnv): Child {
  return spawnChild(script, process.execPath, ['--import', 'tsx', script], env);
}

/** `worker`, `ingest`, `start`: the same process `npm run <entry>` runs (entry.sh execs node, keeping the pid). */
export function startEntry(entry: string, env: NodeJS.ProcessEnv): Child {
  return spawnChild(entry, 'bash', [path.join(root, 'scripts', 'entry.sh'), entry], env);
}

function spawnChild(script: string, command: string, args: string[], env: NodeJS.ProcessEnv): Child {
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: Array<{ marker: string; resolve: (line: string) => void }> = [];
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line) continue;
      lines.push(line);
      if (lines.length > 200) lines.shift();
      for (const waiter of waiters.filter((w) => line.includes(w.marker))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return {
    process: child,
    pid: child.pid!,
    waitFor(marker, timeoutMs = 120_000) {
      return new Promise((resolve, reject) => {
        const found = lines.find((line) => line.includes(marker));
        if (found) return resolve(found);
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `${script}: no "${marker}" within ${timeoutMs} ms; last output:\n${lines.slice(-20).join('\n')}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({ marker, resolve: (line) => (clearTimeout(timer), resolve(line)) });
        void exited.then(() => {
          clearTimeout(timer);
          reject(
            new Error(`${script} exited (code ${child.exitCode}) before "${marker}":\n${lines.slice(-20).join('\n')}`),
          );
        });
      });
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
