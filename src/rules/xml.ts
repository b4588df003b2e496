// S3 NotificationConfiguration XML, so configurations from mc and S3 tools carry over. Only
// QueueConfiguration is supported, as in MinIO. A rule's event pattern has no form in that XML (MinIO filters only by
// prefix and suffix): exporting one is refused, naming the rule, unless asked for bucketflow's own extension element
// (`<bucketflow:EventPattern>`, read back by the import; MinIO's parser skips elements it does not know, so it would
// keep such a rule without its filter).
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { RuleError, type NotificationRule } from './rules';
import type { EventPattern } from './pattern';

const LISTS = new Set([
  'QueueConfiguration',
  'TopicConfiguration',
  'CloudFunctionConfiguration',
  'Event',
  'FilterRule',
]);
// Values are not trimmed: a filter may really start or end with a space (object keys can).
const parser = new XMLParser({
  parseTagValue: false,
  trimValues: false,
  ignoreAttributes: true,
  isArray: (name) => LISTS.has(name),
});
const builder = new XMLBuilder({ format: true, indentBy: '  ', suppressEmptyNode: true, ignoreAttributes: false });
const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
/** bucketflow's extension element for a rule's pattern (its JSON text), in a namespace of its own. */
const PATTERN_ELEMENT = 'bucketflow:EventPattern';
const PATTERN_XMLNS = 'urn:bucketflow:event-pattern';

interface QueueXml {
  Id?: string;
  Queue?: string;
  Event?: string[];
  Filter?: { S3Key?: { FilterRule?: Array<{ Name?: string; Value?: string }> } };
  [PATTERN_ELEMENT]?: unknown;
}

/** Parses the XML into rules; event names and ARNs are checked by validateRules. */
export function rulesFromXml(xml: string): NotificationRule[] {
  if (XMLValidator.validate(xml) !== true) throw new RuleError('MalformedXML', 'the XML is not well-formed');
  const config = parser.parse(xml).NotificationConfiguration;
  if (config === undefined) throw new RuleError('MalformedXML', 'no NotificationConfiguration element');
  if (typeof config === 'string' && config.trim() === '') return [];
  if (config.TopicConfiguration || config.CloudFunctionConfiguration) {
    throw new RuleError('UnsupportedNotification', 'only QueueConfiguration is supported');
  }
  return ((config.QueueConfiguration ?? []) as QueueXml[]).map((queue, i) => ruleFrom(queue, i));
}

function ruleFrom(queue: QueueXml, index: number): NotificationRule {
  const at = `QueueConfiguration[${index}]`;
  const arn = text(queue.Queue);
  const events = (queue.Event ?? []).map(text).filter(Boolean);
  if (!arn) throw new RuleError('MalformedXML', `${at}: no Queue ARN`);
  if (!events.length) throw new RuleError('MalformedXML', `${at}: no Event`);
  const filters: Record<string, string> = {};
  for (const rule of queue.Filter?.S3Key?.FilterRule ?? []) {
    const name = text(rule.Name).toLowerCase();
    if (name !== 'prefix' && name !== 'suffix')
      throw new RuleError('InvalidArgument', `${at}: filter rule name must be prefix or suffix, not "${rule.Name}"`);
    if (name in filters) throw new RuleError('InvalidArgument', `${at}: more than one ${name} filter`);
    filters[name] = typeof rule.Value === 'string' ? rule.Value : '';
  }
  return {
    id: text(queue.Id) || String(index + 1),
    arn,
    events,
    prefix: filters.prefix ?? '',
    suffix: filters.suffix ?? '',
    ...patternFrom(queue[PATTERN_ELEMENT], at),
  };
}

/** The extension element's JSON, parsed; validateRules checks it as a pattern. */
function patternFrom(element: unknown, at: string): { pattern?: EventPattern } {
  if (element === undefined) return {};
  let pattern: unknown;
  try {
    pattern = JSON.parse(text(element));
  } catch {
    throw new RuleError('MalformedXML', `${at}: ${PATTERN_ELEMENT} is not valid JSON`);
  }
  return { pattern: pattern as EventPattern };
}

/** An element's text without the layout around it (only filter values keep their blanks). */
function text(value: unknown): string {
  return typeof value === 'string' ? value.trim() : '';
}

/**
 * The rules as S3 NotificationConfiguration XML. A rule with a pattern is refused (RuleError naming it) unless
 * `patterns` asks for bucketflow's extension element, which only bucketflow's import reads.
 */
export function rulesToXml(rules: NotificationRule[], { patterns = false }: { patterns?: boolean } = {}): string {
  const QueueConfiguration = rules.map((rule) => {
    if (rule.pattern !== undefined && !patterns)
      throw new RuleError(
        'UnsupportedNotification',
        `rule ${rule.id} (${rule.arn}) has an event pattern, which S3 NotificationConfiguration XML cannot carry ` +
          "(MinIO filters only by prefix and suffix): export with --patterns for bucketflow's own import",
      );
    const FilterRule = [
      ...(rule.prefix ? [{ Name: 'prefix', Value: rule.prefix }] : []),
      ...(rule.suffix ? [{ Name: 'suffix', Value: rule.suffix }] : []),
    ];
    return {
      Id: rule.id,
      ...(FilterRule.length ? { Filter: { S3Key: { FilterRule } } } : {}),
      Queue: rule.arn,
      Event: rule.events,
      ...(rule.pattern !== undefined
        ? { [PATTERN_ELEMENT]: { '@_xmlns:bucketflow': PATTERN_XMLNS, '#text': JSON.stringify(rule.pattern) } }
        : {}),
    };
  });
  const body = builder.build({ NotificationConfiguration: { '@_xmlns': S3_XMLNS, QueueConfiguration } }) as string;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
}
