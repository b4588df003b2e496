// How failures read (src/errors.ts), and that it is their one home: a message with its cause, a system
// error's code, an error's chain of causes (cycles included), and no module building that text by hand.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { causeChain, errorMessage, messageWithCause, systemErrorText } from '../../src/errors';

test('the message with its cause, once', () => {
  const refused = new Error('connect ECONNREFUSED 127.0.0.1:7233');
  assert.equal(
    messageWithCause(new Error('Failed to start Workflow', { cause: refused })),
    'Failed to start Workflow: connect ECONNREFUSED 127.0.0.1:7233',
  );
  assert.equal(
    messageWithCause(new Error('start failed: connect ECONNREFUSED 127.0.0.1:7233', { cause: refused })),
    'start failed: connect ECONNREFUSED 127.0.0.1:7233',
  );
  assert.equal(errorMessage(new AggregateError([new Error('a'), new Error('b')])), 'a; b');
  assert.equal(errorMessage('plain'), 'plain');
});

test('a system error reads as its code, anything else as its message', () => {
  assert.equal(
    systemErrorText(Object.assign(new Error("ENOENT: no such file or directory, open '/x'"), { code: 'ENOENT' })),
    'ENOENT',
  );
  assert.equal(
    systemErrorText(Object.assign(new Error('bad decrypt'), { code: 'ERR_OSSL_BAD_DECRYPT' })),
    'bad decrypt',
  );
  assert.equal(systemErrorText(new Error('no code')), 'no code');
});

test('the chain of causes, outermost first, ending at a cycle', () => {
  const inner = Object.assign(new Error('inner'), { code: 14, details: 'unavailable' });
  const outer = new Error('outer', { cause: inner });
  assert.deepEqual(
    [...causeChain(outer)].map((e) => e.message),
    ['outer', 'inner'],
  );
  const looped = new Error('looped');
  (looped as { cause?: unknown }).cause = looped;
  assert.equal([...causeChain(looped)].length, 1);
  assert.deepEqual([...causeChain(undefined)], []);
  assert.deepEqual([...causeChain('a string')], []);
});

test('no module outside src/errors.ts turns an error into text by hand', () => {
  const root = path.resolve(__dirname, '../..');
  const files = ['src', 'activities', 'workflows'].flatMap((dir) =>
    readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => path.join(dir, f)),
  );
  const byHand = [
    /instanceof Error \? \w+\.message : String\(/, // errorMessage
    /\(\w+ as Error\)\.(message|cause)/, // errorMessage, messageWithCause
    /as NodeJS\.ErrnoException\)\.code \?\?/, // systemErrorText
    /current = current\.cause as/, // causeChain
  ];
  const found = files
    .filter((file) => file !== path.join('src', 'errors.ts'))
    .flatMap((file) =>
      readFileSync(path.join(root, file), 'utf8')
        .split('\n')
        .map((line, n) => ({ file, n: n + 1, line })),
    )
    .filter(({ line }) => byHand.some((pattern) => pattern.test(line)));
  assert.deepEqual(
    found.map(({ file, n, line }) => `${file}:${n}: ${line.trim()}`),
    [],
  );
});
