// Replays recorded delivery histories (test/fixtures/histories, from scripts/record-histories.ts) with
// today's workflow code: deliveries started by the first version (deliverEvent), by the fast path
// (deliverEventV2, deliverEventV3), batches (deliverBatch) and per-key order (deliverKeyOrdered) must still complete
// on an upgraded worker, so a non-deterministic edit fails here.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DeterminismViolationError } from '@temporalio/workflow';
import { temporal } from '@temporalio/proto';
import { Worker, type ReplayResult } from '@temporalio/worker';
import { loadWorkflowBundle } from '../../src/engine/workflow-bundle';
import { deliverySinks } from '../../src/engine/worker';
import {
  DELIVER_BATCH,
  DELIVER_EVENT_V3,
  DELIVER_KEY_ORDERED,
  DELIVERY_WORKFLOW_TYPES,
} from '../../src/delivery/workflow-types';

const dir = path.resolve(__dirname, '../fixtures/histories');
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.json'))
  .sort();

function history(file: string) {
  return temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(path.join(dir, file), 'utf8')));
}

test('histories of every workflow version and every outcome are recorded', () => {
  for (const version of DELIVERY_WORKFLOW_TYPES) {
    for (const outcome of ['delivered', 'retried', 'durable', 'partial', 'failed', 'no-targets']) {
      assert.ok(files.includes(`${version}-${outcome}.json`), `${version}-${outcome}.json`);
    }
  }
  // A target refused for good, handed to its dead letter (workflows/dead-letter.ts): the ingest's match, the lookup's.
  for (const variant of ['', '-plain'])
    assert.ok(files.includes(`${DELIVER_EVENT_V3}${variant}-dead-letter.json`), `${DELIVER_EVENT_V3}-dead-letter`);
  // Per-key order's workflow (workflows/key-order.ts): one object's events handed over out of order, in order out.
  assert.ok(files.includes(`${DELIVER_KEY_ORDERED}-delivered.json`), `${DELIVER_KEY_ORDERED}-delivered.json`);
  for (const outcome of ['delivered', 'continued'])
    assert.ok(files.includes(`${DELIVER_BATCH}-${outcome}.json`), `${DELIVER_BATCH}-${outcome}.json`);
});

/**
 * Every history replayed by one replay worker per bundle, started by the first test that asks: each test then checks
 * its own history's result (a worker per history would set up the same workflow sandbox 64 times).
 */
const replays = new Map<boolean, Promise<Map<string, ReplayResult>>>();
function replayed(file: string, traced: boolean): Promise<ReplayResult | undefined> {
  if (!replays.has(traced)) {
    replays.set(
      traced,
      (async () => {
        const results = new Map<string, ReplayResult>();
        const options = { workflowBundle: await loadWorkflowBundle({ traced }), sinks: deliverySinks() };
        for await (const result of Worker.runReplayHistories(
          options,
          files.map((name) => ({ workflowId: name, history: history(name) })),
        )) {
          results.set(result.workflowId, result);
        }
        return results;
      })(),
    );
  }
  return replays.get(traced)!.then((results) => results.get(file));
}

async function assertReplays(file: string, traced: boolean): Promise<void> {
  const result = await replayed(file, traced);
  assert.ok(result, `${file} was not replayed`);
  if (result.error) throw result.error;
}

for (const file of files) {
  test(`replays ${file}`, () => assertReplays(file, false));
  // A worker with tracing on (OpenTelemetry's workflow interceptors) must replay what an untraced one recorded.
  test(`replays ${file} with tracing on`, () => assertReplays(file, true));
}

test('a history replayed by code that decides differently is caught', async () => {
  // A fast-path history under the first version's workflow type: the commands no longer match.
  const changed = history('deliverEventV2-plain-delivered.json');
  changed.events[0].workflowExecutionStartedEventAttributes!.workflowType!.name = 'deliverEvent';
  await assert.rejects(
    Worker.runReplayHistory({ workflowBundle: await loadWorkflowBundle(), sinks: deliverySinks() }, changed),
    DeterminismViolationError,
  );
});
