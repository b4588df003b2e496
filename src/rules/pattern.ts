// Content filters on bucket rules in Amazon EventBridge's event-pattern language, the one home of that language:
// parsing and validating a pattern (refused with one line naming its JSON path, as EventBridge refuses the same
// pattern) and matching it against an event record. MinIO filters only by key prefix and suffix (minio#21443,
// minio#13053); a pattern filters on anything the record carries: event name, size, content type, user metadata.
// What a pattern sees is the S3 record as MinIO sends it, its object key decoded (recordForPattern); see
// docs/configuration.md#event-patterns.
import type { S3EventRecord } from '../events/types';
import { errorMessage } from '../errors';

/** A pattern as stored with its rule: the JSON object the user wrote. */
export type EventPattern = { [field: string]: unknown };

/** A pattern that EventBridge would refuse; the message names the JSON path (`$.s3.object.size[0].numeric`). */
export class PatternError extends Error {
  constructor(
    readonly path: string,
    what: string,
  ) {
    super(`${path}: ${what}`);
    this.name = 'PatternError';
  }
}

/** The top-level fields of an S3 event record: a pattern naming another one can never match (a typo, or an
 * EventBridge-shaped `detail`). */
const RECORD_FIELDS = new Set([
  'eventVersion',
  'eventSource',
  'awsRegion',
  'eventTime',
  'eventName',
  'userIdentity',
  'requestParameters',
  'responseElements',
  's3',
  'source',
  'glacierEventData',
]);

const MATCHERS = ['prefix', 'suffix', 'equals-ignore-case', 'wildcard', 'anything-but', 'numeric', 'exists'];

/** One value test of a leaf array: true if the field's values (`leaves`, arrays flattened) pass. */
type LeafTest = (leaves: readonly unknown[]) => boolean;
/** A compiled pattern (or one `$or` branch): true if the event matches. */
type Matcher = (event: unknown) => boolean;

/** Parses the text of a pattern (as `--pattern` takes it) and checks it; throws PatternError. */
export function parsePattern(text: string): EventPattern {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new PatternError('$', `not valid JSON (${errorMessage(err)})`);
  }
  compilePattern(value);
  return value as EventPattern;
}

const compiled = new WeakMap<object, Matcher>();

/** Checks a pattern and returns its matcher (cached per pattern object); throws PatternError. */
export function compilePattern(pattern: unknown): Matcher {
  if (typeof pattern === 'object' && pattern !== null) {
    const known = compiled.get(pattern);
    if (known) return known;
  }
  if (!isPlainObject(pattern)) throw new PatternError('$', 'a pattern must be a JSON object');
  const matcher = compileObject(pattern, '$', [], true);
  compiled.set(pattern, matcher);
  return matcher;
}

/** True if the event (any JSON value; for a record, recordForPattern's view of it) matches the pattern. */
export function patternMatches(pattern: EventPattern, event: unknown): boolean {
  return compilePattern(pattern)(event);
}

/** The pattern as JSON with every object's keys sorted: two patterns that differ only in key order (as PostgreSQL's
 * JSONB keeps them) are the same pattern. */
export function canonicalPattern(pattern: EventPattern | undefined): string {
  return JSON.stringify(pattern ?? null, (_key, value: unknown) =>
    isPlainObject(value) ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1))) : value,
  );
}

/** What a pattern is matched against: the record as MinIO sends it, with `s3.object.key` decoded (the raw key, as
 * prefix and suffix filters see it) instead of query-escaped. */
export function recordForPattern(record: S3EventRecord, rawKey: string): unknown {
  return { ...record, s3: { ...record.s3, object: { ...record.s3.object, key: rawKey } } };
}

function compileObject(pattern: Record<string, unknown>, at: string, fields: string[], root: boolean): Matcher {
  const keys = Object.keys(pattern);
  if (keys.length === 0) throw new PatternError(at, 'an empty object matches nothing: name at least one field');
  const parts: Matcher[] = [];
  for (const key of keys) {
    const value = pattern[key];
    const path = pathOf(at, key);
    if (key === '$or') {
      parts.push(compileOr(value, path, fields, root));
      continue;
    }
    if (root && !RECORD_FIELDS.has(key)) {
      const hint =
        key === 'detail' || key === 'detail-type'
          ? ': the pattern applies to the S3 record itself (eventName, s3.object.size, ...), not to an EventBridge event'
          : ` (a record has ${[...RECORD_FIELDS].join(', ')})`;
      throw new PatternError(path, `not a field of an S3 event record${hint}`);
    }
    const fieldPath = [...fields, key];
    if (Array.isArray(value)) {
      const test = compileLeaf(value, path);
      parts.push((event) => test(leavesAt(event, fieldPath)));
    } else if (isPlainObject(value)) {
      parts.push(compileObject(value, path, fieldPath, false));
    } else {
      throw new PatternError(path, `must be an object or an array of values to match, not ${describe(value)}`);
    }
  }
  return (event) => parts.every((part) => part(event));
}

function compileOr(value: unknown, at: string, fields: string[], root: boolean): Matcher {
  if (!Array.isArray(value) || value.length < 2 || !value.every(isPlainObject))
    throw new PatternError(at, '$or takes an array of at least 2 objects');
  const branches = value.map((branch, i) => compileObject(branch, `${at}[${i}]`, fields, root));
  return (event) => branches.some((branch) => branch(event));
}

function compileLeaf(values: unknown[], at: string): LeafTest {
  if (values.length === 0) throw new PatternError(at, 'an empty array matches nothing: give at least one value');
  const tests = values.map((value, i): LeafTest => {
    const path = `${at}[${i}]`;
    if (typeof value === 'string' || typeof value === 'boolean' || value === null)
      return (leaves) => leaves.some((leaf) => leaf === value);
    if (typeof value === 'number') return (leaves) => leaves.some((leaf) => leaf === value);
    if (isPlainObject(value)) return compileMatcher(value, path);
    throw new PatternError(path, `a value to match must be a string, number, true, false, null or a matcher object`);
  });
  return (leaves) => tests.some((test) => test(leaves));
}

/** `{"prefix": ...}` and the other matchers: exactly one key. */
function compileMatcher(matcher: Record<string, unknown>, at: string): LeafTest {
  const keys = Object.keys(matcher);
  if (keys.length !== 1)
    throw new PatternError(at, `a matcher object has exactly one key (${MATCHERS.join(', ')}), not ${keys.length}`);
  const [name] = keys;
  const arg = matcher[name];
  const path = pathOf(at, name);
  const strings = (test: (s: string) => boolean): LeafTest => {
    return (leaves) => leaves.some((leaf) => typeof leaf === 'string' && test(leaf));
  };
  switch (name) {
    case 'prefix':
    case 'suffix': {
      const test = affixTest(name, arg, path, true);
      return strings(test);
    }
    case 'equals-ignore-case': {
      const wanted = fold(stringArg(arg, path));
      return strings((s) => fold(s) === wanted);
    }
    case 'wildcard': {
      const regex = wildcardRegex(stringArg(arg, path), path);
      return strings((s) => regex.test(s));
    }
    case 'anything-but': {
      const excluded = anythingBut(arg, path);
      // Any value of the field but those excluded (other types included); a missing field matches nothing.
      return (leaves) => leaves.some((leaf) => !excluded(leaf));
    }
    case 'numeric': {
      const inRange = numericRange(arg, path);
      return (leaves) => leaves.some((leaf) => typeof leaf === 'number' && inRange(leaf));
    }
    case 'exists': {
      if (typeof arg !== 'boolean') throw new PatternError(path, `must be true or false, not ${describe(arg)}`);
      return (leaves) => leaves.length > 0 === arg;
    }
    case 'cidr':
      throw new PatternError(path, 'cidr is not supported by bucketflow');
    default:
      throw new PatternError(at, `unknown matcher "${name}" (known: ${MATCHERS.join(', ')})`);
  }
}

/** A prefix or suffix test: a string, or `{"equals-ignore-case": string}`. Under anything-but it may not be empty. */
function affixTest(kind: 'prefix' | 'suffix', arg: unknown, at: string, emptyAllowed: boolean): (s: string) => boolean {
  let ignoreCase = false;
  let value = arg;
  if (isPlainObject(arg)) {
    const keys = Object.keys(arg);
    if (keys.length !== 1 || keys[0] !== 'equals-ignore-case')
      throw new PatternError(at, `takes a string or {"equals-ignore-case": string}`);
    ignoreCase = true;
    value = arg['equals-ignore-case'];
    at = pathOf(at, 'equals-ignore-case');
  }
  const text = stringArg(value, at);
  if (!emptyAllowed && text === '') throw new PatternError(at, `an empty ${kind} is not allowed here`);
  if (ignoreCase) {
    const folded = fold(text);
    return kind === 'prefix' ? (s) => fold(s).startsWith(folded) : (s) => fold(s).endsWith(folded);
  }
  return kind === 'prefix' ? (s) => s.startsWith(text) : (s) => s.endsWith(text);
}

/** What anything-but excludes: a string or number, a list of only strings or only numbers, or one of
 * {prefix}, {suffix}, {equals-ignore-case: string or strings}, {wildcard}. */
function anythingBut(arg: unknown, at: string): (leaf: unknown) => boolean {
  if (typeof arg === 'string' || typeof arg === 'number') return (leaf) => leaf === arg;
  if (Array.isArray(arg)) {
    const allStrings = arg.length > 0 && arg.every((v) => typeof v === 'string');
    const allNumbers = arg.length > 0 && arg.every((v) => typeof v === 'number');
    if (!allStrings && !allNumbers)
      throw new PatternError(at, 'a list must hold only strings or only numbers, and at least one');
    const set = new Set<unknown>(arg);
    return (leaf) => set.has(leaf);
  }
  if (isPlainObject(arg)) {
    const keys = Object.keys(arg);
    const [name] = keys;
    const path = pathOf(at, name ?? '');
    const onStrings =
      (test: (s: string) => boolean) =>
      (leaf: unknown): boolean =>
        typeof leaf === 'string' && test(leaf);
    if (keys.length === 1 && (name === 'prefix' || name === 'suffix'))
      return onStrings(affixTest(name, arg[name], path, false));
    if (keys.length === 1 && name === 'wildcard') {
      const regex = wildcardRegex(stringArg(arg[name], path), path);
      return onStrings((s) => regex.test(s));
    }
    if (keys.length === 1 && name === 'equals-ignore-case') {
      const value = arg[name];
      const list = Array.isArray(value) ? value : [value];
      if (list.length === 0 || !list.every((v) => typeof v === 'string'))
        throw new PatternError(path, 'takes a string or a non-empty list of strings');
      const folded = new Set(list.map((v) => fold(v as string)));
      return onStrings((s) => folded.has(fold(s)));
    }
    throw new PatternError(at, 'takes {"prefix"}, {"suffix"}, {"equals-ignore-case"} or {"wildcard"} as an object');
  }
  throw new PatternError(at, `must be a string, a number, a list of them or an object, not ${describe(arg)}`);
}

/** `["=", n]`, `[">" | ">=", n]`, `["<" | "<=", n]` or `[">" | ">=", low, "<" | "<=", high]` with low < high. */
function numericRange(arg: unknown, at: string): (n: number) => boolean {
  if (!Array.isArray(arg)) throw new PatternError(at, `must be an array such as [">", 0, "<=", 5]`);
  const bound = (i: number): number => {
    const value = arg[i];
    if (typeof value !== 'number') throw new PatternError(`${at}[${i}]`, `must be a number, not ${describe(value)}`);
    return value;
  };
  const op = (i: number, allowed: string[]): string => {
    const value = arg[i];
    if (typeof value !== 'string' || !allowed.includes(value))
      throw new PatternError(`${at}[${i}]`, `expected one of ${allowed.join(' ')}, not ${describe(value)}`);
    return value;
  };
  const first = op(0, ['=', '>', '>=', '<', '<=']);
  const low = bound(1);
  if (first === '=' || first === '<' || first === '<=') {
    if (arg.length > 2) throw new PatternError(at, `"${first}" takes one number: too many elements`);
    if (first === '=') return (n) => n === low;
    return first === '<' ? (n) => n < low : (n) => n <= low;
  }
  const above = first === '>' ? (n: number) => n > low : (n: number) => n >= low;
  if (arg.length === 2) return above;
  const second = op(2, ['<', '<=']);
  const high = bound(3);
  if (arg.length > 4) throw new PatternError(at, 'too many elements: at most a lower and an upper bound');
  if (!(low < high)) throw new PatternError(at, `the lower bound ${low} must be less than the upper bound ${high}`);
  const below = second === '<' ? (n: number) => n < high : (n: number) => n <= high;
  return (n) => above(n) && below(n);
}

/** `*` matches any run of characters; `\*` is a star and `\\` a backslash; `**` and other escapes are refused. */
function wildcardRegex(text: string, at: string): RegExp {
  let source = '';
  let previousStar = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '*') {
      if (previousStar) throw new PatternError(at, `consecutive wildcard characters (**) are not allowed`);
      source += '.*';
      previousStar = true;
      continue;
    }
    previousStar = false;
    if (c === '\\') {
      const next = text[++i];
      if (next !== '*' && next !== '\\')
        throw new PatternError(at, 'a backslash may only escape * or another backslash');
      source += `\\${next}`;
      continue;
    }
    source += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

/** Every value at the field path, arrays flattened at each step; objects are not values (`exists` sees leaves). */
function leavesAt(event: unknown, fields: readonly string[]): unknown[] {
  let current: unknown[] = [event];
  for (const field of fields) {
    const next: unknown[] = [];
    for (const value of flatten(current)) {
      if (isPlainObject(value) && Object.hasOwn(value, field)) next.push(value[field]);
    }
    current = next;
  }
  return flatten(current).filter((value) => !isPlainObject(value));
}

function flatten(values: readonly unknown[]): unknown[] {
  return values.some(Array.isArray) ? values.flatMap((v) => (Array.isArray(v) ? flatten(v) : [v])) : [...values];
}

function stringArg(value: unknown, at: string): string {
  if (typeof value !== 'string') throw new PatternError(at, `must be a string, not ${describe(value)}`);
  return value;
}

function fold(s: string): string {
  return s.toLowerCase();
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** `$.s3.object.size`, or `$["content-type"]` for a key that is not a plain name. */
function pathOf(at: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${at}.${key}` : `${at}[${JSON.stringify(key)}]`;
}
