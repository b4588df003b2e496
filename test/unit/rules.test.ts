import assert from 'node:assert/strict';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { decodeObjectKey, encodeObjectKey, parseEventList } from '../../src/events';
import { RuleError, matchingArns, validateRules, type NotificationRule } from '../../src/rules';
import { FileStateStore } from '../../src/state';

const a = 'arn:minio:sqs:us-east-1:1:amqp';
const w = 'arn:minio:sqs:us-east-1:1:webhook';
const rule = (arn: string, events: string[], prefix = '', suffix = '', id = '1'): NotificationRule => ({
  id,
  arn,
  events,
  prefix,
  suffix,
});

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
    [
      'an unknown ARN',
      [rule('arn:minio:sqs:us-east-1:9:amqp', ['s3:ObjectCreated:*'])],
      /not a configured, enabled target/,
    ],
    ['a malformed ARN', [rule('arn:minio:sqs:amqp', ['s3:ObjectCreated:*'])], /ARN "arn:minio:sqs:amqp"/],
    ['an unknown event', [rule(a, ['s3:ObjectCreated:Upload'])], /unknown event name "s3:ObjectCreated:Upload"/],
    ['no events', [rule(a, [])], /no events/],
    [
      'an event twice in a rule',
      [rule(a, ['s3:ObjectCreated:Put', 's3:ObjectRemoved:*', 's3:ObjectCreated:Put'])],
      /^rule 1: event s3:ObjectCreated:Put is listed twice$/,
    ],
    [
      'identical rules (ids and event order aside)',
      [
        rule(a, ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'], 'a/', '.jpg', '1'),
        rule(a, ['s3:ObjectRemoved:*', 's3:ObjectCreated:*'], 'a/', '.jpg', '2'),
      ],
      /^rules 1 and 2 overlap: the same ARN, events and filter \(arn:minio:sqs:us-east-1:1:amqp\)$/,
    ],
    [
      'an ARN of another region',
      [rule('arn:minio:sqs:eu-west-1:1:amqp', ['s3:ObjectCreated:*'])],
      /not a configured, enabled target \(this server's region is "us-east-1"\)/,
    ],
    [
      'a filter with a .. segment',
      [rule(a, ['s3:ObjectCreated:*'], 'a/../b')],
      /^rule 1: prefix: invalid filter value "a\/..\/b"$/,
    ],
    ['a filter of only .', [rule(a, ['s3:ObjectCreated:*'], '', '.')], /suffix: invalid filter value/],
    ['a filter with a backslash', [rule(a, ['s3:ObjectCreated:*'], 'a\\b')], /prefix: invalid filter value/],
    ['a filter over 1024 bytes', [rule(a, ['s3:ObjectCreated:*'], 'ü'.repeat(513))], /prefix: invalid filter value/],
    [
      'a filter that is not valid UTF-8',
      [rule(a, ['s3:ObjectCreated:*'], '', '\uD800.jpg')],
      /suffix: invalid filter value/,
    ],
  ];
  for (const [name, rules, message] of cases) {
    test(`rejects ${name}`, () =>
      assert.throws(
        () => validateRules(rules, known),
        (e: unknown) => e instanceof RuleError && message.test(e.message),
      ));
  }
  test('accepts what MinIO accepts: rules that overlap without being identical, a wildcard beside one of its names', () => {
    const rules = [
      rule(a, ['s3:ObjectCreated:*'], 'a/', '', '1'),
      rule(a, ['s3:ObjectCreated:*'], 'a/b/', '', '2'),
      rule(w, ['s3:ObjectCreated:*', 's3:ObjectCreated:Put'], 'a/', '', '3'),
      rule(a, ['s3:ObjectCreated:*'], 'a/', '.jpg', '4'),
    ];
    assert.deepEqual(validateRules(rules, known), rules);
    // ... and a target still gets one copy of an event several of its rules match.
    assert.deepEqual(matchingArns(rules, 's3:ObjectCreated:Put', 'a/b/c.jpg'), [a, w]);
  });
  test("an ARN without a region (as today's MinIO prints them) names the configured target", () => {
    const [checked] = validateRules([rule('arn:minio:sqs::1:amqp', ['s3:ObjectCreated:*'])], known);
    assert.equal(checked.arn, a);
  });
});

describe('matching URL-encoded and unicode keys', () => {
  const rules = [
    rule(a, ['s3:ObjectCreated:*'], 'dir with space/', '.jpg'),
    rule(w, ['s3:ObjectCreated:*'], '日本/', 'ü.txt', '2'),
  ];
  test('filters see the raw key that decodeObjectKey gives back', () => {
    const key = (raw: string) => decodeObjectKey(encodeObjectKey(raw));
    assert.deepEqual(matchingArns(rules, 's3:ObjectCreated:Put', key('dir with space/a+b.jpg')), [a]);
    assert.deepEqual(matchingArns(rules, 's3:ObjectCreated:Put', key('日本/データü.txt')), [w]);
    assert.deepEqual(matchingArns(rules, 's3:ObjectCreated:Put', decodeObjectKey('dir+with+space%2Fx.jpg')), [a]);
    assert.deepEqual(matchingArns(rules, 's3:ObjectCreated:Put', 'dir%20with%20space/x.jpg'), []);
  });
});

test('the file store persists atomically and sees changes made by another process', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bucketflow-rules-'));
  const store = new FileStateStore(dir);
  assert.deepEqual(await store.get('images'), []);
  await store.put('images', [rule(a, ['s3:ObjectCreated:*'])]);
  assert.deepEqual(await new FileStateStore(dir).get('images'), [rule(a, ['s3:ObjectCreated:*'])]);
  await new Promise((r) => setTimeout(r, 20));
  await writeFile(path.join(dir, 'rules.json'), JSON.stringify({ docs: [rule(w, ['s3:ObjectRemoved:*'])] }));
  assert.deepEqual(await store.get('images'), []);
  assert.deepEqual(await store.buckets(), ['docs']);
  // Another process's write within the same clock tick is still seen: each write is a new file.
  const other = new FileStateStore(dir);
  await other.put('docs', []);
  await other.put('logs', [rule(a, ['s3:ObjectCreated:*'])]);
  assert.deepEqual(await store.buckets(), ['logs']);
  await writeFile(path.join(dir, 'rules.json'), '{"logs": [');
  await assert.rejects(store.get('logs'), /rules.json: not valid JSON/);
  await writeFile(path.join(dir, 'rules.json'), '{"logs": {}}');
  await assert.rejects(store.get('logs'), /rules.json: expected \{"<bucket>": \[rules...\]\}/);
  assert.equal((await readdir(dir)).filter((f) => f.endsWith('.tmp')).length, 0);
});

test("bucket names that are Object.prototype's own names are plain buckets: no rules until stored, then theirs", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bucketflow-rules-'));
  const store = new FileStateStore(dir);
  const names = ['constructor', '__proto__', 'hasOwnProperty', 'toString', 'valueOf'];
  for (const name of names) assert.deepEqual(await store.get(name), [], name);
  for (const [i, name] of names.entries()) await store.put(name, [rule(a, ['s3:ObjectCreated:*'], `${i}/`)]);
  const reread = new FileStateStore(dir);
  for (const [i, name] of names.entries()) {
    assert.deepEqual(await reread.get(name), [rule(a, ['s3:ObjectCreated:*'], `${i}/`)], name);
    assert.deepEqual(matchingArns(await reread.get(name), 's3:ObjectCreated:Put', `${i}/x`), [a]);
  }
  assert.deepEqual(await reread.buckets(), [...names].sort());
  assert.deepEqual(await reread.get('images'), [], 'a bucket never stored still has none');
  await reread.put('constructor', []);
  assert.deepEqual(await new FileStateStore(dir).buckets(), names.filter((n) => n !== 'constructor').sort());
});

test('target state keyed by ARN and worker: prototype names are plain keys', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bucketflow-state-'));
  const store = new FileStateStore(dir);
  assert.equal(await store.setPaused('constructor', true), true, 'not paused before');
  await store.setCircuit('__proto__', 'hasOwnProperty', { state: 'open', since: 'now', failures: 3 });
  const states = await new FileStateStore(dir).targetStates();
  assert.deepEqual(Object.keys(states).sort(), ['__proto__', 'constructor']);
  assert.ok(Object.entries(states).find(([name]) => name === 'constructor')?.[1].paused);
  assert.deepEqual(Object.keys(states['__proto__'].circuits!), ['hasOwnProperty']);
  assert.equal(await store.setPaused('toString', false), false, 'never paused');
});

test("mc's --event shortcuts: a prototype name is an unknown event, not a crash", () => {
  assert.throws(() => parseEventList('constructor'), /^UnknownEventError: unknown event name: constructor$/);
  assert.throws(() => parseEventList('put,toString'), /^UnknownEventError: unknown event name: toString$/);
});
