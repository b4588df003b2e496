// `npm run lint` (also run by `npm test`): typescript-eslint's recommended rules over the TypeScript sources, then
// `prettier --check` (.prettierrc.json: 120 columns, single quotes, semicolons); `npm run format` rewrites the layout.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Imports run one way: entry points (src/worker, src/ingest, src/start, src/cli: one folder per process, each only its
// main, none importing another) -> engine (src/engine: the one wiring point; src/http, src/sources, src/publish,
// src/operator, src/temporal, src/targets, src/s3, src/index.ts, workflows, activities) -> model and config
// (src/config,
// src/settings, src/events, src/rules, src/state, src/delivery, src/errors.ts, src/webhook-signature.ts,
// src/runtime-paths.ts, src/fatal.ts); src/telemetry (log, metrics, tracing) is usable from every layer and imports
// none of them, but the redaction its logger applies. Type-only imports are free (they vanish from the JS).
// Specifiers are relative, so each rule is written for the depth of the files it covers.
const ENTRY = ['worker', 'ingest', 'start', 'cli'];
const ENGINE = ['engine', 'http', 'sources', 'publish', 'operator', 'temporal', 'targets', 's3', 'index'];
const up = (depth) => (depth === 0 ? '\\./' : '(\\.\\./){' + depth + '}');
function boundary(files, depth, forbidden, message, extra = []) {
  const patterns = [
    { regex: `^${up(depth)}(${forbidden.join('|')})(/|$)`, message, allowTypeImports: true },
    ...extra.map((regex) => ({ regex, message, allowTypeImports: true })),
  ];
  return { files, rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] } };
}
const NO_TEMPORAL_PROCESS = ['^@temporalio/(client|worker|activity|testing)$'];
const MODEL = 'src/{config,settings,events,rules,state,delivery}';
const MODEL_SAYS =
  'model and config modules import no entry point, no engine module and no Temporal client/worker (see eslint.config.mjs)';
const ENGINE_SAYS = 'the engine imports no entry point (src/worker, src/ingest, src/start, src/cli)';
const ENTRY_SAYS =
  'an entry point imports no other entry point: what two processes share lives in the engine (src/engine)';
const SANDBOX_SAYS =
  'workflow code runs in the workflow sandbox: it may import only @temporalio/workflow, @temporalio/common, workflows/ and src/delivery/ (type-only imports excepted)';

export default tseslint.config(
  { ignores: ['node_modules/', '.stack/', '.data/', 'bench-results/', 'coverage/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      // `_name` marks a value deliberately left unused (destructuring it away, an unused parameter).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      // One line length: Prettier (run by `npm run lint`) lays out the code at 120; comments are held to it here.
      'max-len': [
        'error',
        {
          code: 120,
          ignoreStrings: true,
          ignoreTemplateLiterals: true,
          ignoreRegExpLiterals: true,
          ignoreUrls: true,
          ignoreTrailingComments: true,
        },
      ],
    },
  },
  // Entry points: one main each, importing the engine, never each other.
  boundary([`src/{${ENTRY.join(',')}}/*.ts`], 1, ENTRY, ENTRY_SAYS),
  // The model: no entry point, no engine, no Temporal client or worker.
  boundary(
    ['src/{errors,webhook-signature,runtime-paths,fatal}.ts'],
    0,
    [...ENTRY, ...ENGINE, 'workflows', 'activities'],
    MODEL_SAYS,
    NO_TEMPORAL_PROCESS,
  ),
  boundary([`${MODEL}/*.ts`], 1, [...ENTRY, ...ENGINE], MODEL_SAYS, [
    '^(\\.\\./){2}(workflows|activities)(/|$)',
    ...NO_TEMPORAL_PROCESS,
  ]),
  boundary([`${MODEL}/*/*.ts`], 2, [...ENTRY, ...ENGINE], MODEL_SAYS, [
    '^(\\.\\./){3}(workflows|activities)(/|$)',
    ...NO_TEMPORAL_PROCESS,
  ]),
  // The engine: no entry point.
  boundary(['src/index.ts'], 0, ENTRY, ENGINE_SAYS),
  boundary([`src/{${ENGINE.filter((e) => e !== 'index').join(',')}}/*.ts`], 1, ENTRY, ENGINE_SAYS),
  boundary([`src/{${ENGINE.filter((e) => e !== 'index').join(',')}}/*/*.ts`], 2, ENTRY, ENGINE_SAYS),
  // ... except the one redaction (src/config/connection-strings.ts, no imports of its own beyond ConfigError), which
  // the logger applies.
  boundary(
    ['src/telemetry/*.ts'],
    1,
    [...ENTRY, ...ENGINE, 'config(?!/connection-strings$)', 'events', 'rules', 'state', 'delivery'],
    'telemetry is imported by every layer and imports none of them (but the redaction in src/config/connection-strings.ts)',
  ),
  boundary(['activities/*.ts'], 1, [`src/(${ENTRY.join('|')})`], ENGINE_SAYS),
  // Workflow code and what it may import: the sandbox's allow-list, everything else refused.
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!@temporalio/(workflow|common)$|\\./|\\.\\./src/delivery/)',
              message: SANDBOX_SAYS,
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/delivery/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(?!@temporalio/common$|\\./)', message: SANDBOX_SAYS, allowTypeImports: true }] },
      ],
    },
  },
  {
    // Tests break records on purpose (delete a field, put a wrong type in): `any` says so plainly there.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
