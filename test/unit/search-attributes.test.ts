// The one list of search attributes (src/delivery/search-attributes.ts) is what docs/operations.md documents and
// what the workflows write, so none can be used without being registered.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { SEARCH_ATTRIBUTES, createCommands, searchKeys } from '../../src/delivery/search-attributes';

const root = path.resolve(__dirname, '../..');

test('the docs/operations.md table lists exactly the registered search attributes with their types', () => {
  const operations = readFileSync(path.join(root, 'docs', 'operations.md'), 'utf8');
  const rows = [...operations.matchAll(/^\| `(Bucketflow\w+)` \| (\w+) \|/gm)].map(([, name, type]) => [name, type]);
  assert.deepEqual(Object.fromEntries(rows), SEARCH_ATTRIBUTES);
});

test('every key the workflows write is in the list with its type', () => {
  for (const key of Object.values(searchKeys)) {
    const type = SEARCH_ATTRIBUTES[key.name as keyof typeof SEARCH_ATTRIBUTES];
    assert.ok(type, `${key.name} is registered`);
    assert.equal(type.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase(), key.type, key.name);
  }
});

test('docker-compose registers none itself: the worker does, from the list', () => {
  assert.doesNotMatch(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), /--search-attribute/);
  assert.deepEqual(createCommands('ns', ['BucketflowTargets']), [
    'temporal operator search-attribute create --namespace ns --name BucketflowTargets --type KeywordList',
  ]);
});
