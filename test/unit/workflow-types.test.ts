// The workflow type names the client starts and the operator's commands recognize are exactly the workflow
// functions the worker registers (workflows/index.ts): a renamed function fails here, not in production.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DELIVERY_WORKFLOW_TYPES,
  DELIVER_BATCH,
  DELIVER_EVENT_V1,
  DELIVER_EVENT_V3,
  SCAN_BUCKET,
  isDeliveryWorkflowType,
} from '../../src/delivery/workflow-types';
import * as workflows from '../../workflows';

test('every delivery workflow type is a registered workflow function of that name', () => {
  const registered = Object.keys(workflows).sort();
  for (const type of DELIVERY_WORKFLOW_TYPES)
    assert.ok(registered.includes(type), `${type} is not exported by workflows/index.ts`);
  assert.deepEqual(
    [...DELIVERY_WORKFLOW_TYPES].sort(),
    registered.filter((name) => name.startsWith('deliverEvent')),
  );
  assert.equal(DELIVERY_WORKFLOW_TYPES[0], DELIVER_EVENT_V3, 'new deliveries start as the newest version');
  assert.ok(registered.includes(DELIVER_BATCH), `${DELIVER_BATCH} is not exported by workflows/index.ts`);
  assert.ok(!isDeliveryWorkflowType(DELIVER_BATCH), "a batch is not one event's delivery");
  assert.ok(registered.includes(SCAN_BUCKET), `${SCAN_BUCKET} is not exported by workflows/index.ts`);
  assert.ok(!isDeliveryWorkflowType(SCAN_BUCKET), 'a scan run is not a delivery');
  assert.ok(isDeliveryWorkflowType(DELIVER_EVENT_V1));
  assert.ok(!isDeliveryWorkflowType('someOtherWorkflow'));
});
