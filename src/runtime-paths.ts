// Where this code runs from: the TypeScript sources (tsx, development) or what `npm run build` compiled into
// dist/ (production; scripts/entry.sh picks it only while it matches the sources).
import path from 'node:path';

/** True when running the compiled JS under dist/. */
export const compiled = path.extname(__filename) === '.js';

/** The package's root, where package.json is: the parent of src/ or of dist/. */
export const packageRoot = path.resolve(__dirname, compiled ? '../..' : '..');

/** The workflow bundle `npm run build` writes once, so a compiled worker never bundles. */
export const builtWorkflowBundle = path.join(packageRoot, 'dist', 'workflows.bundle.js');
