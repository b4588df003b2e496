// A bucket's notification rules, validated and matched as MinIO does.
import { expandEventName, eventMatches, isEventName } from '../events/names';
import { parseArn } from '../config/arn';

export interface NotificationRule {
  id: string;
  arn: string;
  events: string[];
  prefix: string;
  suffix: string;
}

export class RuleError extends Error {
  constructor(readonly code: 'InvalidArgument' | 'MalformedXML' | 'UnsupportedNotification', message: string) {
    super(message);
    this.name = 'RuleError';
  }
}

/** Throws RuleError for the first problem; nothing is stored by callers when it throws. */
export function validateRules(rules: NotificationRule[], knownArns: ReadonlySet<string>): void {
  rules.forEach((rule, i) => {
    const at = `rule ${rule.id || i + 1}`;
    try {
      parseArn(rule.arn);
    } catch (err) {
      throw new RuleError('InvalidArgument', `${at}: ${(err as Error).message}`);
    }
    if (!knownArns.has(rule.arn)) throw new RuleError('InvalidArgument', `${at}: ARN ${rule.arn} is not a configured, enabled target`);
    if (rule.events.length === 0) throw new RuleError('MalformedXML', `${at}: no events`);
    for (const event of rule.events) {
      if (!isEventName(event)) throw new RuleError('InvalidArgument', `${at}: unknown event name "${event}"`);
    }
    const expanded = rule.events.flatMap(expandEventName);
    if (new Set(expanded).size !== expanded.length) throw new RuleError('InvalidArgument', `${at}: an event is listed twice`);
  });
  for (let i = 0; i < rules.length; i++) {
    for (let j = i + 1; j < rules.length; j++) {
      if (overlaps(rules[i], rules[j])) {
        throw new RuleError('InvalidArgument', `rules ${rules[i].id || i + 1} and ${rules[j].id || j + 1} overlap for ${rules[i].arn}`);
      }
    }
  }
}

/** Two rules for one ARN overlap when an event could match both (MinIO rejects that configuration). */
function overlaps(a: NotificationRule, b: NotificationRule): boolean {
  if (a.arn !== b.arn) return false;
  const eventsA = new Set(a.events.flatMap(expandEventName));
  if (!b.events.flatMap(expandEventName).some((e) => eventsA.has(e))) return false;
  const prefixesOverlap = a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix);
  const suffixesOverlap = a.suffix.endsWith(b.suffix) || b.suffix.endsWith(a.suffix);
  return prefixesOverlap && suffixesOverlap;
}

/** The ARNs whose rules match an event on a RAW key: each once, sorted. */
export function matchingArns(rules: NotificationRule[], eventName: string, rawKey: string): string[] {
  const arns = new Set<string>();
  for (const rule of rules) {
    if (!rawKey.startsWith(rule.prefix) || !rawKey.endsWith(rule.suffix)) continue;
    if (rule.events.some((pattern) => eventMatches(pattern, eventName))) arns.add(rule.arn);
  }
  return [...arns].sort();
}
