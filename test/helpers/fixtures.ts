// Source fixtures (test/fixtures/sources), built from each format's documentation.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export function sourceFixture(name: string): Record<string, any> {
  return JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'sources', name), 'utf8')) as Record<
    string,
    any
  >;
}
