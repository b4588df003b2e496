// A bucket's notification rules, validated and matched as MinIO does.
import { eventMatches, isEventName } from '../events/names';
import { formatArn, parseArn, type Arn } from '../config/arn';
import { errorMessage } from '../errors';
import type { S3EventRecord } from '../events/types';
import {
  canonicalPattern,
  compilePattern,
  PatternError,
  patternMatches,
  recordForPattern,
  type EventPattern,
} from './pattern';

export interface NotificationRule {
  id: string;
  arn: string;
  events: string[];
  prefix: string;
  suffix: string;
  /** A content filter in EventBridge's event-pattern syntax over the record (src/rules/pattern.ts); none: all. */
  pattern?: EventPattern;
}

export class RuleError extends Error {
  constructor(
    readonly code: 'InvalidArgument' | 'MalformedXML' | 'UnsupportedNotification',
    message: string,
  ) {
    super(message);
    this.name = 'RuleError';
  }
}

/**
 * Checks a bucket's whole rule list as MinIO does and returns it with each ARN in its configured
 * spelling (an ARN without a region, as today's MinIO prints them, names the configured target of that
 * id and type). Throws RuleError for the first problem; callers store nothing then.
 */
export function validateRules(rules: NotificationRule[], knownArns: ReadonlySet<string>): NotificationRule[] {
  const checked = rules.map((rule, i) => validateRule(rule, `rule ${rule.id || i + 1}`, knownArns));
  for (let i = 0; i < checked.length; i++) {
    for (let j = i + 1; j < checked.length; j++) {
      if (sameRule(checked[i], checked[j])) {
        const [a, b] = [checked[i].id || i + 1, checked[j].id || j + 1];
        throw new RuleError(
          'InvalidArgument',
          `rules ${a} and ${b} overlap: the same ARN, events and filter (${checked[i].arn})`,
        );
      }
    }
  }
  return checked;
}

function validateRule(rule: NotificationRule, at: string, knownArns: ReadonlySet<string>): NotificationRule {
  const arn = resolveArn(rule.arn, at, knownArns);
  if (rule.events.length === 0) throw new RuleError('MalformedXML', `${at}: no events`);
  const seen = new Set<string>();
  for (const event of rule.events) {
    if (!isEventName(event)) throw new RuleError('InvalidArgument', `${at}: unknown event name "${event}"`);
    if (seen.has(event)) throw new RuleError('InvalidArgument', `${at}: event ${event} is listed twice`);
    seen.add(event);
  }
  checkFilterValue(rule.prefix, `${at}: prefix`);
  checkFilterValue(rule.suffix, `${at}: suffix`);
  if (rule.pattern !== undefined) {
    try {
      compilePattern(rule.pattern);
    } catch (err) {
      if (err instanceof PatternError) throw new RuleError('InvalidArgument', `${at}: pattern ${err.message}`);
      throw err;
    }
  }
  return { ...rule, arn };
}

function resolveArn(ruleArn: string, at: string, knownArns: ReadonlySet<string>): string {
  let arn: Arn;
  try {
    arn = parseArn(ruleArn);
  } catch (err) {
    throw new RuleError('InvalidArgument', `${at}: ${errorMessage(err)}`);
  }
  if (knownArns.has(ruleArn)) return ruleArn;
  const sameTarget = [...knownArns].map(parseArn).find((known) => known.id === arn.id && known.type === arn.type);
  if (sameTarget && arn.region === '') return formatArn(sameTarget);
  const hint = sameTarget ? ` (this server's region is "${sameTarget.region}")` : '';
  throw new RuleError('InvalidArgument', `${at}: ARN ${ruleArn} is not a configured, enabled target${hint}`);
}

/** MinIO's rule for filter values: at most 1024 bytes of valid UTF-8, no backslash, no `.`/`..` segment. */
function checkFilterValue(value: string, at: string): void {
  const valid =
    Buffer.byteLength(value) <= 1024 &&
    Buffer.from(value, 'utf8').toString('utf8') === value && // no lone surrogates
    !value.includes('\\') &&
    !value.split('/').some((segment) => segment === '.' || segment === '..');
  if (!valid) throw new RuleError('InvalidArgument', `${at}: invalid filter value ${JSON.stringify(value)}`);
}

/** MinIO refuses a queue configuration identical to another: same ARN, events and filter (and pattern, here). */
function sameRule(a: NotificationRule, b: NotificationRule): boolean {
  const events = (rule: NotificationRule) => [...new Set(rule.events)].sort().join(',');
  const pattern = (rule: NotificationRule) => canonicalPattern(rule.pattern);
  return (
    a.arn === b.arn &&
    a.prefix === b.prefix &&
    a.suffix === b.suffix &&
    events(a) === events(b) &&
    pattern(a) === pattern(b)
  );
}

/**
 * The ARNs whose rules match an event on a RAW key: each once, sorted. A rule with a pattern needs the event's
 * record, which the pattern is matched against (its key decoded: recordForPattern).
 */
export function matchingArns(
  rules: NotificationRule[],
  eventName: string,
  rawKey: string,
  record?: S3EventRecord,
): string[] {
  const arns = new Set<string>();
  let view: unknown;
  for (const rule of rules) {
    if (arns.has(rule.arn)) continue;
    if (!rawKey.startsWith(rule.prefix) || !rawKey.endsWith(rule.suffix)) continue;
    if (!rule.events.some((pattern) => eventMatches(pattern, eventName))) continue;
    if (rule.pattern !== undefined) {
      if (!record) throw new Error(`rule ${rule.id} has a pattern: matching it needs the event's record`);
      view ??= recordForPattern(record, rawKey);
      if (!patternMatches(rule.pattern, view)) continue;
    }
    arns.add(rule.arn);
  }
  return [...arns].sort();
}
