// MinIO's auth_token rule and the ingest's token check (basic auth for SNS and Ceph endpoint URLs).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authorizationFor, authorizationMatches, sameText } from '../../src/config/auth-token';

const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString('base64')}`;

test("one word is a bearer token, two words are sent verbatim, as MinIO's auth_token", () => {
  assert.equal(authorizationFor('s3cr3t'), 'Bearer s3cr3t');
  assert.equal(authorizationFor(' Basic  dXNlcjpwYXNz '), 'Basic dXNlcjpwYXNz');
  assert.equal(authorizationFor(''), undefined);
  assert.throws(() => authorizationFor('a b c'), /expected a token or "<scheme> <credentials>"/);
});

test('a request matches with the bearer token, or basic auth whose password or user:password is the token', () => {
  assert.ok(authorizationMatches('Bearer s3cr3t', 's3cr3t'));
  assert.ok(authorizationMatches(basic('sns:s3cr3t'), 's3cr3t'));
  assert.ok(authorizationMatches(basic('ceph:s3cr3t'), 'ceph:s3cr3t'));
  for (const header of [
    undefined,
    '',
    'Bearer s3cr3',
    'Bearer s3cr3tX',
    'bearer',
    basic('s3cr3t:wrong'),
    basic('nocolon'),
  ]) {
    assert.equal(authorizationMatches(header, 's3cr3t'), false, String(header));
  }
  assert.equal(authorizationMatches('Bearer x', ''), false);
});

test('comparison works for any lengths (digests compared, so timingSafeEqual never throws)', () => {
  assert.ok(sameText('a'.repeat(1000), 'a'.repeat(1000)));
  assert.equal(sameText('a', 'a'.repeat(1000)), false);
  assert.equal(sameText('', 'x'), false);
});
