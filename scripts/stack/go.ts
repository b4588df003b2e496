// `go install` for the services the stack builds from their Go modules (MinIO, mc, versitygw): the binaries go
// to the service's bin folder, and Go's module and build caches live outside the checkout, under
// $HOME/.cache/bucketflow-go (BUCKETFLOW_GO_CACHE), so a second clone on the same machine rebuilds in seconds
// while a fresh machine builds from the Go module proxy. Builds run at the lowest priority (the machine is shared).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCommand } from './command';
import { isExecutable } from './paths';

/** Where the Go module and build caches of the stack's builds live. */
export function goCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.BUCKETFLOW_GO_CACHE || path.join(os.homedir(), '.cache', 'bucketflow-go');
}

/**
 * Builds the `module@version` packages into `binDir` with the machine's own Go (GOTOOLCHAIN=local: no
 * toolchain download), unless `binaries` are there already, built from these very versions (a stamp file
 * in `binDir` records them, so changing a version here rebuilds).
 */
export async function goInstall(
  service: string,
  binDir: string,
  packages: string[],
  binaries: string[],
): Promise<void> {
  const stamp = path.join(binDir, 'go-install.txt');
  const wanted = packages.join('\n');
  if (binaries.every(isExecutable) && readStamp(stamp) === wanted) return;
  const cache = goCacheDir();
  mkdirSync(cache, { recursive: true });
  const env = {
    ...process.env,
    GOBIN: binDir,
    GOMODCACHE: path.join(cache, 'mod'),
    GOCACHE: path.join(cache, 'build'),
    GOTOOLCHAIN: 'local',
    GOFLAGS: '-buildvcs=false',
  };
  const began = Date.now();
  console.log(`stack: ${service}: go install ${packages.join(' ')} (a first build takes minutes; cached in ${cache})`);
  for (const pkg of packages) {
    await runCommand('nice', ['-n', '19', 'go', 'install', pkg], { env }).catch((error: unknown) => {
      throw new Error(`${service} is built with Go (go.dev, or Debian's golang-go): ${String(error)}`);
    });
  }
  writeFileSync(stamp, wanted);
  console.log(`stack: ${service}: built in ${((Date.now() - began) / 1000).toFixed(0)} s`);
}

function readStamp(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
