// The one redaction (src/config/connection-strings.ts) runs in time linear in the text's length and hides what the
// patterns as first written hide (test/helpers/reference-redaction.ts): compared on random texts made of the pieces
// credentials are made of (fast-check), timed on the texts that took the first patterns quadratic time (a 200 KB
// poison record's log line took 22 s), and checked on a megabyte holding real credentials.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  embeddedSecrets,
  hasEmbeddedPassword,
  REDACTED,
  redactCredentials,
  redactSecrets,
} from '../../src/config/connection-strings';
import {
  referenceEmbeddedSecrets,
  referenceHasEmbeddedPassword,
  referenceRedactCredentials,
} from '../helpers/reference-redaction';

const PIECES = [
  'a',
  'b',
  'Z',
  '1',
  '-',
  '.',
  '+',
  ':',
  '/',
  '//',
  '://',
  '@',
  '?',
  '=',
  '&',
  "'",
  '"',
  ' ',
  '\n',
  '(',
  ')',
  '\\',
  '#',
  '%40',
  'password',
  'pwd',
  'sslpassword',
  'Bearer ',
  'tcp',
  '@tcp(',
  'http',
  'nats',
  'token',
  'REDACTED',
  'x:y',
  'u:p@h',
];
const textOf = (maxPieces: number) =>
  fc.array(fc.constantFrom(...PIECES), { maxLength: maxPieces }).map((pieces) => pieces.join(''));

test('it hides exactly what the patterns as first written hide, in any text made of the pieces of credentials', () => {
  for (const [maxPieces, numRuns] of [
    [30, 20_000],
    [150, 2_000],
  ]) {
    fc.assert(
      fc.property(textOf(maxPieces), (text) => {
        assert.equal(redactCredentials(text), referenceRedactCredentials(text));
        assert.deepEqual(embeddedSecrets(text), referenceEmbeddedSecrets(text));
        assert.equal(hasEmbeddedPassword(text), referenceHasEmbeddedPassword(text));
      }),
      { numRuns },
    );
  }
});

/** Repeated, these took the first patterns time quadratic in the length (URL schemes, query names, DSN users, JSON). */
const QUADRATIC_BEFORE = ['a-', 'a.', '?', '?a=', '=(', '"a:b', 'password=', '{"k":"v","a":1}', 'a-?=(', ' a://b:'];

function cpuMs(run: () => unknown): number {
  const start = process.cpuUsage();
  run();
  const spent = process.cpuUsage(start);
  return (spent.user + spent.system) / 1000;
}

test('linear time: 100 KB of any text that took quadratic time is redacted in < 100 ms of CPU, 1 MB in < 1 s', () => {
  for (const piece of QUADRATIC_BEFORE) {
    for (const [bytes, boundMs] of [
      [100_000, 100],
      [1_000_000, 1_000],
    ]) {
      const text = piece.repeat(Math.ceil(bytes / piece.length));
      for (const redact of [redactCredentials, embeddedSecrets, hasEmbeddedPassword]) {
        const ms = cpuMs(() => redact(text));
        assert.ok(
          ms < boundMs,
          `${redact.name} of ${JSON.stringify(piece)} x ${bytes / piece.length}: ${ms.toFixed(0)} ms`,
        );
      }
    }
  }
});

test('a megabyte with credentials spread through it: every one hidden, the rest as it was', () => {
  const credentials = [
    ['postgres://events:canary-pw-1@db:5432/e', 'postgres://events:REDACTED@db:5432/e'],
    ['nats://canary-token-2@127.0.0.1:4222', 'nats://REDACTED@127.0.0.1:4222'],
    ['http://h/hook?token=canary-query-3', 'http://h/hook?token=REDACTED'],
    ['root:canary-dsn-4@tcp(127.0.0.1:3306)/minio', 'root:REDACTED@tcp(127.0.0.1:3306)/minio'],
    ['password=canary-kv-5', 'password=REDACTED'],
    ['Bearer canary-bearer-6', 'Bearer REDACTED'],
  ];
  const filler = '{"k":"a-b.c?d=(e"} '.repeat(2_500); // ~50 KB of text like the texts that took quadratic time
  const parts = Array.from({ length: 20 }, (_, i) => `${filler}${credentials[i % credentials.length][0]} `);
  const shown = redactCredentials(parts.join(''));
  assert.doesNotMatch(shown, /canary/);
  const fillerShown = filler.replaceAll('?d=(e"}', `?d=${REDACTED}`); // a query value, as far as the space
  assert.equal(
    shown,
    Array.from({ length: 20 }, (_, i) => `${fillerShown}${credentials[i % credentials.length][1]} `).join(''),
  );
});

test("a target's secret holding a lone surrogate is hidden as it is (it has no URL-encoded form)", () => {
  const redact = redactSecrets(['pa\ud800ss-word']);
  assert.equal(redact('connect failed: pa\ud800ss-word rejected'), `connect failed: ${REDACTED} rejected`);
});
