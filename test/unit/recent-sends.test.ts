// The status page's per-target send figures (src/telemetry/recent-sends.ts) on a clock the test moves:
// counts and nearest-rank p50/p95 over the last hour, sends older than the hour dropped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecentSends } from '../../src/telemetry/recent-sends';

test('counts sends and failures per target, with p50 and p95 of their times', () => {
  let now = Date.parse('2026-01-01T10:00:00Z');
  const sends = new RecentSends(() => now);
  for (let ms = 1; ms <= 100; ms++) {
    sends.record('a', ms % 10 !== 0, ms);
    now += 1_000;
  }
  sends.record('b', false, 7);
  assert.deepEqual(sends.summary('a'), { sends: 100, failed: 10, p50Ms: 50, p95Ms: 95 });
  assert.deepEqual(sends.summary('b'), { sends: 1, failed: 1, p50Ms: 7, p95Ms: 7 });
  assert.deepEqual(sends.summary('c'), { sends: 0, failed: 0, p50Ms: undefined, p95Ms: undefined });
});

test('a send leaves the figures once it is more than an hour old', () => {
  let now = Date.parse('2026-01-01T10:00:30Z');
  const sends = new RecentSends(() => now);
  sends.record('a', true, 500);
  now += 30 * 60_000;
  sends.record('a', false, 20);
  assert.deepEqual(sends.summary('a'), { sends: 2, failed: 1, p50Ms: 20, p95Ms: 500 });
  now += 31 * 60_000; // the first send's minute is now 61 minutes back
  assert.deepEqual(sends.summary('a'), { sends: 1, failed: 1, p50Ms: 20, p95Ms: 20 });
  now += 60 * 60_000;
  sends.record('a', true, 3); // recording also forgets what the hour left behind
  assert.deepEqual(sends.summary('a'), { sends: 1, failed: 0, p50Ms: 3, p95Ms: 3 });
});
