import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { FileRulesStore, RuleError, matchingArns, validateRules, type NotificationRule } from '../../src/rules';

const a = 'arn:minio:sqs:us-east-1:1:amqp';
const w = 'arn:minio:sqs:us-east-1:1:webhook';
const rule = (arn: string, events: string[], prefix = '', suffix = '', id = '1'): NotificationRule => ({ id, arn, events, prefix, suffix });

describe('matching', () => {
  const rules = [
    rule(a, ['s3:ObjectCreated:*'], 'photos/', '.jpg', '1'),
    rule(a, ['s3:ObjectRemoved:Delete'], '', '', '2'),
    rule(w, ['s3:ObjectCreated:Put'], 'übersicht/', '', '3'),
  ];
  test('event name with wildcards and raw-key prefix/suffix; one copy per ARN, sorted', () => {
    assert.deepEqual(matchingArns(rules, 's3:ObjectCreated:Put', 'photos/cat.jpg'), [a]);
    assert.deepEqual(matchingArns(rules, 's3:ObjectCreated:Copy', 'photos/cat.jpg'), [a]);
    assert.deepEqual(matchingArns(rules, 's3:ObjectCreated:Put', 'photos/cat.png'), []);
    assert.deepEqual(matchingArns(rules, 's3:ObjectRemoved:Delete', 'photos/cat.jpg'), [a]);
    assert.deepEqual(matchingArns(rules, 's3:ObjectRemoved:DeleteMarkerCreated', 'x'), []);
    assert.deepEqual(matchingArns(rules, 's3:ObjectCreated:Put', 'übersicht/plan 1.pdf'), [w]);
    // Filters match the raw key, never its escaped form.
    assert.deepEqual(matchingArns(rules, 's3:ObjectCreated:Put', '%C3%BCbersicht%2Fplan+1.pdf'), []);
  });
});

describe('validation', () => {
  const known = new Set([a, w]);
  const cases: Array<[string, NotificationRule[], RegExp]> = [
    ['an unknown ARN', [rule('arn:minio:sqs:us-east-1:9:amqp', ['s3:ObjectCreated:*'])], /not a configured, enabled target/],
    ['a malformed ARN', [rule('arn:minio:sqs:amqp', ['s3:ObjectCreated:*'])], /ARN "arn:minio:sqs:amqp"/],
    ['an unknown event', [rule(a, ['s3:ObjectCreated:Upload'])], /unknown event name "s3:ObjectCreated:Upload"/],
    ['no events', [rule(a, [])], /no events/],
    ['an event twice', [rule(a, ['s3:ObjectCreated:*', 's3:ObjectCreated:Put'])], /listed twice/],
    ['overlapping rules', [rule(a, ['s3:ObjectCreated:*'], 'a/', '', '1'), rule(a, ['s3:ObjectCreated:Put'], 'a/b/', '', '2')], /rules 1 and 2 overlap/],
  ];
  for (const [name, rules, message] of cases) {
    test(`rejects ${name}`, () => assert.throws(() => validateRules(rules, known), (e: unknown) => e instanceof RuleError && message.test(e.message)));
  }
  test('accepts disjoint rules for one ARN and the same filter for two ARNs', () => {
    validateRules([rule(a, ['s3:ObjectCreated:*'], 'a/', '', '1'), rule(a, ['s3:ObjectCreated:*'], 'b/', '', '2'), rule(w, ['s3:ObjectCreated:*'], 'a/', '', '3')], known);
  });
});

test('the file store persists atomically and sees changes made by another process', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bucketflow-rules-'));
  const store = new FileRulesStore(dir);
  assert.deepEqual(await store.get('images'), []);
  await store.put('images', [rule(a, ['s3:ObjectCreated:*'])]);
  assert.deepEqual(await new FileRulesStore(dir).get('images'), [rule(a, ['s3:ObjectCreated:*'])]);
  await new Promise((r) => setTimeout(r, 20));
  await writeFile(path.join(dir, 'rules.json'), JSON.stringify({ docs: [rule(w, ['s3:ObjectRemoved:*'])] }));
  assert.deepEqual(await store.get('images'), []);
  assert.deepEqual(await store.buckets(), ['docs']);
});
