// deploy/grafana/bucketflow.json as Grafana imports it: unique panel ids and query refIds, panels laid on
// the 24-column grid without overlapping, every query on the dashboard's Prometheus variable, and every
// variable a query uses defined. (That its queries name what the processes export, and return data from a
// real Prometheus, is test/integration/prometheus.test.ts.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Array<{ refId: string; expr: string; datasource?: { uid: string } }>;
}

const dashboard = JSON.parse(readFileSync(path.resolve(__dirname, '../../deploy/grafana/bucketflow.json'), 'utf8')) as {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string }> };
};

test("panel ids are unique, and each panel's queries have unique refIds", () => {
  const ids = dashboard.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
    const refIds = (panel.targets ?? []).map((t) => t.refId);
    assert.ok(refIds.length > 0, `${panel.title} has no query`);
    assert.equal(new Set(refIds).size, refIds.length, `${panel.title}: refIds ${refIds.join(',')}`);
  }
});

test('panels sit on the 24-column grid without overlapping', () => {
  const cells = new Map<string, string>();
  for (const {
    title,
    gridPos: { x, y, w, h },
  } of dashboard.panels) {
    assert.ok(x >= 0 && w > 0 && x + w <= 24 && h > 0 && y >= 0, `${title}: ${JSON.stringify({ x, y, w, h })}`);
    for (let row = y; row < y + h; row++) {
      for (let column = x; column < x + w; column++) {
        const taken = cells.get(`${row},${column}`);
        assert.equal(taken, undefined, `${title} overlaps ${taken}`);
        cells.set(`${row},${column}`, title);
      }
    }
  }
});

test('every query uses the Prometheus variable, and every variable it uses is defined', () => {
  const variables = new Set(dashboard.templating.list.map((v) => v.name));
  assert.equal(dashboard.templating.list.find((v) => v.name === 'datasource')?.type, 'datasource');
  for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
    assert.equal(panel.datasource?.uid, '${datasource}', panel.title);
    for (const target of panel.targets ?? []) {
      assert.equal(target.datasource?.uid, '${datasource}', `${panel.title} ${target.refId}`);
      for (const [, name] of target.expr.matchAll(/\$\{?(\w+)/g)) {
        assert.ok(
          name.startsWith('__') || variables.has(name),
          `${panel.title}: $${name} is not a variable of the dashboard`,
        );
      }
    }
  }
});
