// The workflow type names the client starts and the operator's commands recognize are exactly the workflow
// functions the worker registers (workflows/index.ts): a renamed function fails here, not in production.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DELIVERY_WORKFLOW_TYPES, DELIVER_EVENT_V1, DELIVER_EVENT_V2, isDeliveryWorkflowType } from '../../src/delivery/workflow-types';
import * as workflows from '../../workflows';

test('every delivery workflow type is a registered workflow function of that name', () => {
  const registered = Object.keys(workflows).sort();
  for (const type of DELIVERY_WORKFLOW_TYPES) assert.ok(registered.includes(type), `${type} is not exported by workflows/index.ts`);
  assert.deepEqual([...DELIVERY_WORKFLOW_TYPES].sort(), registered.filter((name) => name.startsWith('deliverEvent')));
  assert.equal(DELIVERY_WORKFLOW_TYPES[0], DELIVER_EVENT_V2, 'new deliveries start as the newest version');
  assert.ok(isDeliveryWorkflowType(DELIVER_EVENT_V1));
  assert.ok(!isDeliveryWorkflowType('someOtherWorkflow'));
});
