// `bucketflow events|targets|deliveries|redeliver ...`: manage bucket rules as `mc event` does, list
// configured targets, and find, explain and redeliver deliveries (src/operator/deliveries/commands.ts).
import { parseArgs } from 'node:util';
import { ConfigError, loadTargetsConfig } from '../config';
import type { OperatorOptions } from './deliveries/commands';
import { ArgumentError } from './deliveries/query';
import { errorMessage } from '../errors';
import { MC_DEFAULT_EVENTS, UnknownEventError, parseEventList } from '../events/names';
import { readFileSync } from 'node:fs';
import { RuleError, openRulesStore, rulesFromXml, rulesToXml, validateRules, type NotificationRule, type RulesStore, type TargetStateRecord } from '../rules';
import { loadSettings, type Settings } from '../settings';

const USAGE = `usage:
  bucketflow events add <bucket> <arn> [--event put,delete,get] [--prefix P] [--suffix S]
  bucketflow events list <bucket>
  bucketflow events remove <bucket> [<arn>] [--force]
  bucketflow events import <bucket> <notification.xml>
  bucketflow events export <bucket>
  bucketflow targets list
  bucketflow targets health
  bucketflow targets pause <arn>
  bucketflow targets resume <arn>
  bucketflow deliveries list [--bucket B] [--key K] [--prefix P] [--status S[,S]] [--target ARN] [--since 1h] [--limit N] [--json]
  bucketflow deliveries show <eventId | workflowId | bucket/key> [--json]
  bucketflow redeliver <eventId | workflowId | bucket/key> [--target ARN] [--dry-run] [--json]
  bucketflow redeliver --status failed|partial [--since 24h] [--bucket B] [--target ARN] [--limit N] [--dry-run] [--json]
statuses: pending, delivering, delivered, partial, failed, no-targets`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      event: { type: 'string' },
      prefix: { type: 'string', default: '' },
      suffix: { type: 'string', default: '' },
      force: { type: 'boolean', default: false },
      bucket: { type: 'string' },
      key: { type: 'string' },
      status: { type: 'string' },
      target: { type: 'string' },
      since: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [group, command, ...rest] = positionals;
  if (values.help || group === 'help') {
    console.log(USAGE);
    return;
  }
  const settings = loadSettings();
  // Loaded only for these commands: the Temporal client, which the rules commands do not need.
  if (group === 'deliveries') return (await import('./deliveries/commands')).deliveriesCommand(command, rest, values, settings, USAGE);
  if (group === 'redeliver') return (await import('./deliveries/commands')).redeliverCommand(positionals.slice(1), values, settings);
  const store = openRulesStore(settings);
  try {
    await run(group, command, rest, values, store, settings);
  } finally {
    await store.close();
  }
}

async function run(
  group: string | undefined,
  command: string | undefined,
  rest: string[],
  values: { event?: string; prefix?: string; suffix?: string; force?: boolean } & OperatorOptions,
  store: RulesStore,
  settings: Settings,
): Promise<void> {
  const targets = () => loadTargetsConfig({ file: settings.configFile }).targets;

  if (group === 'targets' && command === 'list') {
    for (const t of targets()) console.log(`${t.arn}   ${t.type}   ${t.enabled ? 'enabled' : 'disabled'}`);
    return;
  }
  if (group === 'targets' && command === 'health') {
    // Loaded here only: every driver's client library, which the other commands do not need.
    const { TargetPool } = await import('../targets/pool');
    const pool = new TargetPool(targets());
    try {
      const states = await store.targetStates();
      for (const [arn, health] of Object.entries(await pool.health())) {
        console.log([`${arn}   ${health.online ? 'online' : 'offline'}${health.detail ? `   ${health.detail}` : ''}`, ...describeState(states[arn])].join('   '));
      }
    } finally {
      await pool.close();
    }
    return;
  }
  if (group === 'targets' && (command === 'pause' || command === 'resume')) {
    const arn = rest[0];
    if (!arn) throw new UsageError(`missing <arn>\n${USAGE}`);
    const known = targets().map((t) => t.arn);
    if (!known.includes(arn)) throw new ArgumentError(arn, `unknown ARN (configured: ${known.join(', ') || 'none'})`);
    const changed = await store.setPaused(arn, command === 'pause');
    console.log(`${command === 'pause' ? 'Paused' : 'Resumed'} ${arn}${changed ? '' : ` (it was already ${command === 'pause' ? 'paused' : 'running'})`}`);
    return;
  }
  if (group !== 'events') throw new UsageError(USAGE);
  const bucket = rest[0];
  if (!bucket) throw new UsageError(`missing <bucket>\n${USAGE}`);
  const rules = await store.get(bucket);

  const enabledArns = () => new Set(targets().filter((t) => t.enabled).map((t) => t.arn));

  switch (command) {
    case 'import': {
      if (!rest[1]) throw new UsageError(`missing <notification.xml>\n${USAGE}`);
      const imported = validateRules(rulesFromXml(readXml(rest[1])), enabledArns());
      await store.put(bucket, imported);
      console.log(`Successfully imported ${imported.length} rules`);
      return;
    }
    case 'export':
      console.log(rulesToXml(rules));
      return;
    case 'add': {
      const arn = rest[1];
      if (!arn) throw new UsageError(`missing <arn>\n${USAGE}`);
      const rule: NotificationRule = {
        id: String(Math.max(0, ...rules.map((r) => Number(r.id) || 0)) + 1),
        arn,
        events: parseEventList(values.event ?? MC_DEFAULT_EVENTS.join(',')),
        prefix: values.prefix!,
        suffix: values.suffix!,
      };
      const checked = validateRules([...rules, rule], enabledArns());
      await store.put(bucket, checked);
      console.log(`Successfully added ${checked[checked.length - 1].arn}`);
      return;
    }
    case 'list':
      for (const rule of rules) console.log(describeRule(rule));
      return;
    case 'remove': {
      const arn = rest[1];
      if (!arn && !values.force) throw new UsageError('removing every rule of a bucket needs --force');
      const kept = arn ? rules.filter((r) => r.arn !== arn) : [];
      if (kept.length === rules.length) throw new UsageError(`no rule for ${arn ?? 'any ARN'} on bucket ${bucket}`);
      await store.put(bucket, kept);
      console.log(`Successfully removed ${arn ?? 'all rules'}`);
      return;
    }
    default:
      throw new UsageError(USAGE);
  }
}

function readXml(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${errorMessage(err)}`);
  }
}

/** Pause and each worker's circuit, as `targets health` prints them. */
function describeState(state: TargetStateRecord | undefined): string[] {
  const parts = state?.paused ? [`paused since ${state.paused.since}`] : [];
  for (const [worker, circuit] of Object.entries(state?.circuits ?? {})) {
    const why = circuit.state === 'open' ? ` after ${circuit.failures} failures${circuit.lastError ? `: ${circuit.lastError}` : ''}` : '';
    parts.push(`circuit ${circuit.state} on ${worker} since ${circuit.since}${why}`);
  }
  return parts;
}

/** As `mc event ls` prints it. */
export function describeRule(rule: NotificationRule): string {
  const filters = [rule.prefix && `prefix="${rule.prefix}"`, rule.suffix && `suffix="${rule.suffix}"`].filter(Boolean);
  return `${rule.arn}   ${rule.events.join(',')}${filters.length ? `   Filter: ${filters.join(' ')}` : ''}`;
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: Error & { code?: string }) => {
    // Bad input (arguments, rules, config) gets its message and exit code 2; anything else its stack and 1.
    const badInput =
      err instanceof UsageError ||
      err instanceof ArgumentError ||
      err instanceof RuleError ||
      err instanceof ConfigError ||
      err instanceof UnknownEventError ||
      String(err.code).startsWith('ERR_PARSE_ARGS');
    console.error(badInput ? `bucketflow: ${err.message}` : err);
    process.exit(badInput ? 2 : 1);
  });
}
