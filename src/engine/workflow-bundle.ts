// The workflow code a worker runs, bundled once per version of the sources and cached, instead of at every
// start: bundling (webpack) takes seconds and some 150 MB that the worker would keep as peak RSS. A cache
// miss bundles in a short-lived child process, so the worker itself never loads webpack. The compiled worker
// (dist/) reads the bundle `npm run build` wrote next to it instead.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { builtWorkflowBundle, compiled, packageRoot as root } from '../runtime-paths';

const cacheDir = path.join(root, 'node_modules', '.cache', 'bucketflow');
/** What the bundle is built from: the workflows, everything they may import, and the SDK versions. */
const SOURCES = ['workflows', 'activities', 'src'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.[cm]?[jt]s$/.test(entry.name) ? [full] : [];
  });
}

/** The cache file for the sources as they are now; `traced` adds OpenTelemetry's workflow interceptors
 * (src/telemetry/tracing.ts). */
export function workflowBundleFile(traced = false): string {
  const hash = createHash('sha256');
  const files = SOURCES.flatMap((dir) => sourceFiles(path.join(root, dir))).sort();
  for (const file of [...files, path.join(root, 'package-lock.json')]) {
    if (!existsSync(file)) continue;
    hash.update(path.relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return path.join(cacheDir, `workflows-${hash.digest('hex').slice(0, 16)}${traced ? '-traced' : ''}.js`);
}

/** The bundle for `workflows/`, built in a child process on a cache miss. */
export async function loadWorkflowBundle({ traced = false } = {}): Promise<{ code: string }> {
  if (compiled) {
    const built = builtWorkflowBundle(traced);
    if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build`);
    return { code: await readFile(built, 'utf8') };
  }
  const file = workflowBundleFile(traced);
  if (!existsSync(file)) {
    const child = spawnSync(process.execPath, ['--import', 'tsx', __filename, file, ...(traced ? ['--traced'] : [])], {
      cwd: root,
      encoding: 'utf8',
    });
    if (child.status !== 0) throw new Error(`bundling the workflows failed:\n${child.stderr || child.stdout}`);
  }
  return { code: await readFile(file, 'utf8') };
}

/** OpenTelemetry's workflow interceptors: they open the workflow's and each activity start's span in the sandbox. */
const TRACING_INTERCEPTORS = '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors';

async function writeBundle(file: string, traced: boolean): Promise<void> {
  const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    workflowInterceptorModules: traced ? [require.resolve(TRACING_INTERCEPTORS)] : [],
    logger: quiet,
  });
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`; // workers starting together each write whole files, then rename
  await writeFile(temp, code);
  await rename(temp, file);
}

if (require.main === module) {
  writeBundle(process.argv[2], process.argv[3] === '--traced').catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
