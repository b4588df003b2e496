// One `up` or `down` at a time per checkout: parallel test runs may all call `up`.
import { openSync, readFileSync, rmSync, writeSync, closeSync, mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { stackDir } from './paths';

const lockFile = path.join(stackDir, 'stack.lock');

function holderAlive(): boolean {
  try {
    const pid = Number(readFileSync(lockFile, 'utf8'));
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function withStackLock<T>(work: () => Promise<T>): Promise<T> {
  mkdirSync(stackDir, { recursive: true });
  let announced = false;
  for (;;) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch {
      if (!holderAlive()) {
        rmSync(lockFile, { force: true });
        continue;
      }
      if (!announced) console.log(`stack: waiting for another stack command (${lockFile})`);
      announced = true;
      await sleep(500);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lockFile, { force: true });
  }
}
