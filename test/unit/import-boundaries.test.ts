// The layering is a lint rule, not a comment: a wrong import planted in each layer fails `npm run lint`
// (ESLint with the repository's own eslint.config.mjs), and the same file with an allowed import passes.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';

const root = path.resolve(__dirname, '../..');
const eslint = new ESLint({ cwd: root });

async function restricted(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\nexport const planted = 1;\n`, { filePath: path.join(root, file) });
  return result.messages.filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports').map((m) => m.message);
}

const cases: Array<{ file: string; wrong: string; allowed: string }> = [
  // The workflow sandbox: no client, no Node built-ins, no engine or model module outside src/delivery.
  {
    file: 'workflows/planted.ts',
    wrong: "import { Client } from '@temporalio/client';\nvoid Client;",
    allowed: "import { sleep } from '@temporalio/workflow';\nvoid sleep;",
  },
  {
    file: 'workflows/planted.ts',
    wrong: "import { readFileSync } from 'node:fs';\nvoid readFileSync;",
    allowed: "import { searchKeys } from '../src/delivery/search-attributes';\nvoid searchKeys;",
  },
  {
    file: 'workflows/planted.ts',
    wrong: "import { matchingArns } from '../src/rules';\nvoid matchingArns;",
    allowed: "import type { StateStore } from '../src/state';\nexport type R = StateStore;",
  },
  // The model: no entry point, no engine, no Temporal client or worker.
  {
    file: 'src/config/planted.ts',
    wrong: "import { startEngine } from '../engine/engine';\nvoid startEngine;",
    allowed: "import { errorMessage } from '../errors';\nvoid errorMessage;",
  },
  {
    file: 'src/events/sources/planted.ts',
    wrong: "import { TargetPool } from '../../targets/pool';\nvoid TargetPool;",
    allowed: "import { log } from '../../telemetry/log';\nvoid log;",
  },
  {
    file: 'src/rules/planted.ts',
    wrong: "import { Client } from '@temporalio/client';\nvoid Client;",
    allowed: "import type { Client } from '@temporalio/client';\nexport type C = Client;",
  },
  {
    file: 'src/settings/planted.ts',
    wrong: "import { BucketflowClient } from '../publish/publisher';\nvoid BucketflowClient;",
    allowed: "import { errorMessage } from '../errors';\nvoid errorMessage;",
  },
  {
    file: 'src/state/planted.ts',
    wrong: "import { TargetPool } from '../targets/pool';\nvoid TargetPool;",
    allowed: "import { matchingArns } from '../rules';\nvoid matchingArns;",
  },
  {
    file: 'src/webhook-signature.ts',
    wrong: "import { startEngine } from './engine/engine';\nvoid startEngine;",
    allowed: "import { log } from './telemetry/log';\nvoid log;",
  },
  // Telemetry: imported by every layer, so it imports none, but the one redaction its logger applies.
  {
    file: 'src/telemetry/planted.ts',
    wrong: "import { describeTargets } from '../config/redact';\nvoid describeTargets;",
    allowed: "import { redactCredentials } from '../config/connection-strings';\nvoid redactCredentials;",
  },
  // Entry points: one main per process, none importing another; they import the engine.
  {
    file: 'src/worker/planted.ts',
    wrong: "import { main } from '../ingest/main';\nvoid main;",
    allowed: "import { startEngine } from '../engine/engine';\nvoid startEngine;",
  },
  {
    file: 'src/cli/planted.ts',
    wrong: "import { main } from '../start/main';\nvoid main;",
    allowed: "import { runCli } from '../operator/commands';\nvoid runCli;",
  },
  // The engine: no entry point.
  {
    file: 'src/targets/planted.ts',
    wrong: "import { main } from '../ingest/main';\nvoid main;",
    allowed: "import { ConfigError } from '../config';\nvoid ConfigError;",
  },
  {
    file: 'src/operator/deliveries/planted.ts',
    wrong: "import { main } from '../../cli/main';\nvoid main;",
    allowed: "import { formatTable } from '../table';\nvoid formatTable;",
  },
  {
    file: 'activities/planted.ts',
    wrong: "import { main } from '../src/worker/main';\nvoid main;",
    allowed: "import { errorMessage } from '../src/errors';\nvoid errorMessage;",
  },
  {
    file: 'src/s3/planted.ts',
    wrong: "import { main } from '../ingest/main';\nvoid main;",
    allowed: "import { loadS3Settings } from '../settings/s3';\nvoid loadS3Settings;",
  },
  {
    file: 'src/settings/planted.ts',
    wrong: "import { openS3 } from '../s3/client';\nvoid openS3;",
    allowed: "import type { S3Access } from '../s3/client';\nexport type A = S3Access;",
  },
];

for (const { file, wrong, allowed } of cases) {
  test(`${file}: ${wrong.split('\n')[0]} is refused by lint`, async () => {
    const refused = await restricted(file, wrong);
    assert.equal(refused.length, 1, `expected one restricted import, got ${JSON.stringify(refused)}`);
    assert.deepEqual(await restricted(file, allowed), []);
  });
}
