// Where this code runs from: the TypeScript sources (tsx, development) or what `npm run build` compiled into
// dist/ (production; scripts/entry.sh picks it only while it matches the sources).
import path from 'node:path';

/** True when running the compiled JS under dist/. */
export const compiled = path.extname(__filename) === '.js';

/** The package's root, where package.json is: the parent of src/ or of dist/. */
export const packageRoot = path.resolve(__dirname, compiled ? '../..' : '..');

/** The workflow bundles `npm run build` writes once (plain and with tracing), so a compiled worker never bundles. */
export function builtWorkflowBundle(traced = false): string {
  return path.join(packageRoot, 'dist', traced ? 'workflows-traced.bundle.js' : 'workflows.bundle.js');
}
