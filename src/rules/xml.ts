// S3 NotificationConfiguration XML, so configurations from mc and S3 tools carry over. Only
// QueueConfiguration is supported, as in MinIO.
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { RuleError, type NotificationRule } from './rules';

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

interface QueueXml {
  Id?: string;
  Queue?: string;
  Event?: string[];
  Filter?: { S3Key?: { FilterRule?: Array<{ Name?: string; Value?: string }> } };
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
  };
}

/** An element's text without the layout around it (only filter values keep their blanks). */
function text(value: unknown): string {
  return typeof value === 'string' ? value.trim() : '';
}

export function rulesToXml(rules: NotificationRule[]): string {
  const QueueConfiguration = rules.map((rule) => {
    const FilterRule = [
      ...(rule.prefix ? [{ Name: 'prefix', Value: rule.prefix }] : []),
      ...(rule.suffix ? [{ Name: 'suffix', Value: rule.suffix }] : []),
    ];
    return {
      Id: rule.id,
      ...(FilterRule.length ? { Filter: { S3Key: { FilterRule } } } : {}),
      Queue: rule.arn,
      Event: rule.events,
    };
  });
  const body = builder.build({ NotificationConfiguration: { '@_xmlns': S3_XMLNS, QueueConfiguration } }) as string;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
}
