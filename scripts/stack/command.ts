// Runs a short command to completion (installers, initdb), keeping its output for the error message.
import { spawn, type SpawnOptions } from 'node:child_process';

export interface CommandOptions extends SpawnOptions {
  /** Appends the command's output to this file descriptor instead of collecting it. */
  logFd?: number;
}

export function runCommand(command: string, args: string[], options: CommandOptions = {}): Promise<string> {
  const { logFd, ...spawnOptions } = options;
  return new Promise((resolve, reject) => {
    const stdio: SpawnOptions['stdio'] = logFd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', logFd, logFd];
    const child = spawn(command, args, { ...spawnOptions, stdio });
    let output = '';
    child.stdout?.on('data', (chunk) => (output += chunk));
    child.stderr?.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) return resolve(output);
      const tail = output.trim().split('\n').slice(-20).join('\n');
      reject(new Error(`${command} ${args.join(' ')} exited with ${code ?? signal}${tail ? `:\n${tail}` : ''}`));
    });
  });
}
