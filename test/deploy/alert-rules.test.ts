// deploy/prometheus checked by Debian's promtool: the alert rules and the example configuration load, and the
// rules' unit tests (alerts.test.yml: series in, alerts out) pass; a rule changed against its tests fails them.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promtool } from '../helpers/prometheus';

const dir = path.resolve(__dirname, '../../deploy/prometheus');

test('promtool check rules: every alert rule is valid', { timeout: 120_000 }, async () => {
  const { code, out } = await promtool(['check', 'rules', 'alerts.yml'], dir);
  assert.equal(code, 0, out);
  assert.match(out, /SUCCESS: 9 rules found/);
});

test(
  'promtool check config: the example configuration and the rules it loads are valid',
  { timeout: 60_000 },
  async () => {
    const { code, out } = await promtool(['check', 'config', 'prometheus.yml'], dir);
    assert.equal(code, 0, out);
    assert.match(out, /SUCCESS: 1 rule files found/);
  },
);

test('promtool test rules: each alert fires, and stays quiet, when its tests say', { timeout: 60_000 }, async () => {
  const { code, out } = await promtool(['test', 'rules', 'alerts.test.yml'], dir);
  assert.equal(code, 0, out);
  assert.match(out, /SUCCESS/);
});

test('promtool test rules fails when a rule no longer does what its tests say', { timeout: 60_000 }, async () => {
  const copy = await mkdtemp(path.join(tmpdir(), 'bucketflow-alerts-'));
  try {
    await cp(dir, copy, { recursive: true });
    const rules = await readFile(path.join(copy, 'alerts.yml'), 'utf8');
    assert.ok(rules.includes('sum by (target) (bucketflow_deliveries_in_flight) > 100'));
    await writeFile(
      path.join(copy, 'alerts.yml'),
      rules.replace('(bucketflow_deliveries_in_flight) > 100', '(bucketflow_deliveries_in_flight) > 200'),
    );
    const { code, out } = await promtool(['test', 'rules', 'alerts.test.yml'], copy);
    assert.notEqual(code, 0);
    assert.match(out, /alertname: BucketflowDeliveriesPilingUp, time: 15m/);
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
});
