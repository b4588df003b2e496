// Hostile JSON for property-based tests of the parsers (fast-check): values a sender or a Kafka record can put in
// any field (objects whose `toString` is not a function, lone surrogates, Object.prototype's names, escapes), every
// field position of a valid body, and a body with one of them replaced. Bodies travel as JSON text, as on the wire.
import fc from 'fast-check';

/** Characters that broke or could break a parser: lone surrogates, `%` escapes, terminal escapes, newlines, NUL. */
const NASTY_CHARACTERS = [
  '\ud800',
  '\udfff',
  '%',
  '%E0%A4%A',
  '%ED%A0%80',
  '+',
  '\u0000',
  '\n',
  '\u001b[31m',
  '\u2028',
  '"',
  '\\',
  '/',
  ':',
  '@',
];
/** Names every plain object inherits: a lookup table indexed with one returns a function. */
export const PROTOTYPE_NAMES = [
  'toString',
  'valueOf',
  'constructor',
  '__proto__',
  'hasOwnProperty',
  'isPrototypeOf',
  'length',
];

const character = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom(...NASTY_CHARACTERS) },
);

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: character, maxLength: 12 }),
  fc.constantFrom(
    ...PROTOTYPE_NAMES,
    '',
    ' ',
    's3:ObjectCreated:Put',
    'ObjectCreated:Put',
    '2019-11-22T13:47:35Z',
    '9999-12-31T23:59:59.999-23:59',
    'FFFFFFFF',
  ),
);

/** Objects that make `String(value)` or a template literal throw, or that look like what a parser wants. */
const HOSTILE_OBJECTS: unknown[] = [
  { toString: 1 },
  { toString: 1, valueOf: 1 },
  { toString: {}, valueOf: [] },
  [{ key: 1 }],
  [{ key: 'a', val: { toString: 1 } }],
  [{ key: '__proto__', val: 'x' }],
  JSON.parse('{"__proto__": {"toString": 1}}'),
  { key: '\ud800' },
  { name: { toString: 1 } },
];
const hostileObjects = fc.constantFrom(...HOSTILE_OBJECTS);

/**
 * Values tried in every field of every fixture, one at a time (a sweep beside the random runs, which would meet a
 * given value in a given field only by chance): the crashers found, prototype names, edge times and numbers.
 */
export const HOSTILE_EXAMPLES: unknown[] = [
  ...HOSTILE_OBJECTS,
  ...PROTOTYPE_NAMES,
  ...NASTY_CHARACTERS,
  'a\ud800b',
  '\ud83d\ude00',
  '',
  '9999-12-31T23:59:59.999-23:59',
  '1969-12-31T23:59:59Z',
  '0000-01-01T00:00:00Z',
  '2019-11-22 13:47:35.124724Z',
  'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF',
  'ObjectCreated:Put',
  's3:ObjectCreated:*',
  'Object Created',
  '1024',
  0,
  -1,
  1.5,
  2 ** 53,
  1e308,
  null,
  true,
  [],
  {},
  [[]],
  ['x'],
];

const hostileNumber = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(-1, 1.5, 2 ** 53, 1e308, -0),
);

/** Any JSON value, made of hostile strings and names, plus the known crashers. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3, stringUnit: character }) },
  { weight: 2, arbitrary: hostileString },
  { weight: 1, arbitrary: hostileNumber },
  { weight: 2, arbitrary: hostileObjects },
  {
    weight: 1,
    arbitrary: fc.dictionary(
      fc.constantFrom(...PROTOTYPE_NAMES, 'key', 'val', 'value', 'name', 'principalId', 'Records'),
      fc.jsonValue({ maxDepth: 2 }),
      { maxKeys: 3 },
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, true, false, [], {}) },
);

export type JsonPath = Array<string | number>;

/** Every position in a JSON value: each object key and array index, nested ones too (the root excluded). */
export function pathsOf(value: unknown, at: JsonPath = []): JsonPath[] {
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const path = [...at, Array.isArray(value) ? Number(key) : key];
    return [path, ...pathsOf(child, path)];
  });
}

/** A copy of `body` with the value at `path` replaced (or, with `undefined`, removed), as JSON text. */
export function replacedAt(body: unknown, path: JsonPath, replacement: unknown): string {
  const copy = structuredClone(body) as Record<string | number, unknown>;
  let holder = copy;
  for (const step of path.slice(0, -1)) holder = holder[step] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (replacement === undefined && !Array.isArray(holder)) delete holder[last];
  else holder[last] = replacement;
  return JSON.stringify(copy);
}

/** One field of `body` replaced by a hostile value, or removed: the JSON text and what was done, for failure reports.
 * */
export function oneFieldReplaced(body: unknown): fc.Arbitrary<{ text: string; path: string; value: unknown }> {
  const paths = pathsOf(body);
  return fc
    .tuple(fc.constantFrom(...paths), fc.option(hostileValue, { freq: 8, nil: undefined }))
    .map(([path, value]) => ({ text: replacedAt(body, path, value), path: path.join('.'), value }));
}
