// A node:test reporter that `npm test` runs beside TAP (its lines go to stderr): at the end of a run, how long each
// test file's process took (start-up and hooks included: what a developer waits for) and the slowest tests, so a
// file that got slow shows in every run's output without reading each test's duration_ms. Plain JS: node 20 loads
// reporters before `--import tsx` applies.
import { relative } from 'node:path';
import process from 'node:process';

const SHOWN = 10;

/** @param {AsyncIterable<{ type: string, data: { file?: string, name?: string, nesting?: number, skip?: unknown,
 * details?: { duration_ms?: number } } }>} source */
export default async function* timings(source) {
  const started = new Map();
  const files = [];
  const tests = [];
  for await (const { type, data } of source) {
    if (!data.file) continue;
    const file = relative(process.cwd(), data.file);
    // The file's own events (named by its path): dequeued when its process starts, complete when it ends.
    if (data.name === data.file) {
      if (type === 'test:dequeue') started.set(file, Date.now());
      if (type === 'test:complete' && started.has(file)) files.push({ file, ms: Date.now() - started.get(file) });
    } else if (
      (type === 'test:pass' || type === 'test:fail') &&
      data.nesting === 0 &&
      data.skip === undefined &&
      data.details?.duration_ms !== undefined
    ) {
      tests.push({ file, name: data.name ?? '', ms: data.details.duration_ms });
    }
  }
  const seconds = (ms) => `${(ms / 1000).toFixed(1).padStart(6)} s`;
  yield `# ${files.length} files; the slowest (their process, start to end):\n`;
  for (const { file, ms } of files.sort((a, b) => b.ms - a.ms).slice(0, SHOWN)) yield `# ${seconds(ms)}  ${file}\n`;
  yield '# the slowest tests:\n';
  for (const { file, name, ms } of tests.sort((a, b) => b.ms - a.ms).slice(0, SHOWN))
    yield `# ${seconds(ms)}  ${file}: ${name}\n`;
}
