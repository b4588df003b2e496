// Event patterns (EventBridge syntax) on bucket rules: the table of test/fixtures/event-patterns.json (patterns
// accepted and whether each matches a record MinIO sent, patterns refused with one line naming the JSON path), then
// the rules around them: validateRules refuses a bad pattern naming the rule, the one matcher (resolveTargets, what
// the ingest, the workflow's lookup, batches and scans call) applies a rule's pattern to the record, and two rules
// differing only by their pattern do not overlap.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { buildEvent } from '../../src/events';
import type { S3EventRecord } from '../../src/events/types';
import {
  PatternError,
  RuleError,
  compilePattern,
  matchingArns,
  parsePattern,
  patternMatches,
  recordForPattern,
  resolveTargets,
  validateRules,
  type EventPattern,
  type NotificationRule,
} from '../../src/rules';

interface Fixture {
  record: S3EventRecord;
  accepted: Array<{ why: string; pattern: EventPattern; matches: boolean }>;
  refused: Array<{ why?: string; pattern?: unknown; text?: string; error: string }>;
}
const fixture = JSON.parse(readFileSync(path.join(__dirname, '../fixtures/event-patterns.json'), 'utf8')) as Fixture;
const rawKey = decodeURIComponent(fixture.record.s3.object.key.replace(/\+/g, ' '));
const seen = recordForPattern(fixture.record, rawKey);

describe('patterns EventBridge accepts, matched against a record MinIO sent', () => {
  for (const { why, pattern, matches } of fixture.accepted) {
    test(`${why}: ${JSON.stringify(pattern)}`, () => {
      assert.deepEqual(parsePattern(JSON.stringify(pattern)), pattern);
      assert.equal(patternMatches(pattern, seen), matches);
    });
  }
});

describe('patterns EventBridge refuses: one line naming the JSON path', () => {
  for (const { pattern, text, error } of fixture.refused) {
    const source = text ?? JSON.stringify(pattern);
    test(source, () => {
      assert.throws(
        () => parsePattern(source),
        (err: unknown) => {
          assert.ok(err instanceof PatternError, String(err));
          assert.ok(err.message.startsWith(error), `${err.message}\n  should start with\n${error}`);
          assert.doesNotMatch(err.message, /\n/);
          return true;
        },
      );
    });
  }
});

test('a value of the record that is an array matches if any element does; a missing path matches nothing', () => {
  const event = { eventName: 'x', s3: { object: { tags: ['a', 'b'] } } };
  assert.equal(patternMatches({ s3: { object: { tags: ['b'] } } }, event), true);
  assert.equal(patternMatches({ s3: { object: { tags: [{ prefix: 'c' }] } } }, event), false);
  assert.equal(patternMatches({ s3: { bucket: { name: [{ prefix: '' }] } } }, event), false);
  assert.equal(patternMatches({ s3: { bucket: { name: [{ exists: false }] } } }, event), true);
});

test('a compiled pattern is cached per pattern object', () => {
  const pattern = { eventName: ['s3:ObjectCreated:Put'] };
  assert.equal(compilePattern(pattern), compilePattern(pattern));
});

const WEBHOOK = 'arn:minio:sqs:us-east-1:1:webhook';
const AMQP = 'arn:minio:sqs:us-east-1:1:amqp';
const known = new Set([WEBHOOK, AMQP]);
const rule = (id: string, arn: string, pattern?: EventPattern): NotificationRule => ({
  id,
  arn,
  events: ['s3:ObjectCreated:*'],
  prefix: '',
  suffix: '',
  ...(pattern ? { pattern } : {}),
});
const bigImages: EventPattern = {
  s3: { object: { size: [{ numeric: ['>=', 1024] }], contentType: [{ prefix: 'image/' }] } },
};

test('validateRules refuses a bad pattern with one line naming the rule and the JSON path', () => {
  assert.throws(
    () => validateRules([rule('1', WEBHOOK), rule('big', AMQP, { s3: { object: { size: [] } } })], known),
    (err: unknown) =>
      err instanceof RuleError &&
      err.message === 'rule big: pattern $.s3.object.size: an empty array matches nothing: give at least one value',
  );
  assert.deepEqual(validateRules([rule('1', WEBHOOK, bigImages)], known), [rule('1', WEBHOOK, bigImages)]);
});

test('two rules differing only by their pattern do not overlap; the same pattern twice does', () => {
  assert.equal(validateRules([rule('1', WEBHOOK), rule('2', WEBHOOK, bigImages)], known).length, 2);
  assert.throws(
    () => validateRules([rule('1', WEBHOOK, bigImages), rule('2', WEBHOOK, bigImages)], known),
    /rules 1 and 2 overlap/,
  );
});

test('the one matcher applies a rule pattern to the record: size, content type and the decoded key', async () => {
  const rules: NotificationRule[] = [
    rule('1', WEBHOOK, bigImages),
    rule('2', AMQP, { s3: { object: { key: [{ prefix: 'raw files/' }] } } }),
  ];
  const resolve = (spec: { key: string; size: number; contentType: string }) =>
    resolveTargets({ get: async () => rules }, () => undefined, put(spec)).then((targets) => targets.map((t) => t.arn));
  assert.deepEqual(await resolve({ key: 'a.png', size: 4096, contentType: 'image/png' }), [WEBHOOK]);
  assert.deepEqual(await resolve({ key: 'a.png', size: 10, contentType: 'image/png' }), []);
  assert.deepEqual(await resolve({ key: 'a.txt', size: 4096, contentType: 'text/plain' }), []);
  assert.deepEqual(await resolve({ key: 'raw files/a.png', size: 4096, contentType: 'image/png' }), [AMQP, WEBHOOK]);
  // A rule without a pattern needs no record; one with a pattern refuses to guess without it.
  assert.deepEqual(matchingArns([rule('1', AMQP)], 's3:ObjectCreated:Put', 'a'), [AMQP]);
  assert.throws(() => matchingArns(rules, 's3:ObjectCreated:Put', 'a'), /rule 1 has a pattern/);
});

function put(spec: { key: string; size: number; contentType: string }): S3EventRecord {
  return buildEvent({ eventName: 's3:ObjectCreated:Put', bucket: 'photos', ...spec });
}
