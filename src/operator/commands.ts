// The CLI's subcommands (`bucketflow events|targets|deliveries|redeliver|backfill|scan ...`, run by src/cli/main.ts):
// manage bucket rules as `mc event` does, send a test event, list configured targets, find, explain and redeliver
// deliveries (src/operator/deliveries/commands.ts), deliver what a bucket already holds (src/operator/backfill.ts) and
// manage the scan sources (src/operator/scans.ts). Each subcommand is declared here once (usage, help, options)
// and parsed by src/operator/command-line.ts.
import { readFileSync } from 'node:fs';
import { ConfigError, loadTargetsConfig } from '../config';
import { errorMessage } from '../errors';
import { MC_DEFAULT_EVENTS, UnknownEventError, parseEventList } from '../events/names';
import {
  PatternError,
  RuleError,
  parsePattern,
  rulesFromXml,
  rulesToXml,
  validateRules,
  type NotificationRule,
} from '../rules';
import { openStateStore, type StateStore, type TargetStateRecord } from '../state';
import { loadSettings, type Settings } from '../settings';
import {
  missingArgument,
  OperationError,
  runCommandLine,
  subcommand,
  UsageError,
  type Subcommand,
} from './command-line';
import { ArgumentError } from './deliveries/query';

const STATUSES = 'statuses: pending, delivering, delivered, partial, failed, no-targets';

/** Loaded on first use, so `--help` works whatever the environment says. */
let loaded: Settings | undefined;
const settings = () => (loaded ??= loadSettings());
const targets = () => loadTargetsConfig({ file: settings().configFile }).targets;
const enabledArns = () =>
  new Set(
    targets()
      .filter((t) => t.enabled)
      .map((t) => t.arn),
  );

async function withRules<T>(use: (store: StateStore) => Promise<T>): Promise<T> {
  const store = openStateStore(settings());
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

// Loaded only for these commands: the Temporal client, which the rules commands do not need.
const deliveries = () => import('./deliveries/commands');

const COMMANDS: Subcommand[] = [
  subcommand({
    name: 'events add',
    synopsis: ["<bucket> <arn> [--event put,delete,get] [--prefix P] [--suffix S] [--pattern '<json>']"],
    help: [
      'Adds a rule to the bucket: events of the kinds named (default put,delete,get), on keys with the prefix',
      'and suffix, go to the target <arn> (a configured, enabled target). As `mc event add` does; --pattern adds a',
      "content filter in EventBridge's event-pattern syntax over the record MinIO sends (size, content type, metadata).",
    ].join('\n'),
    optionHelp: [
      ['--event LIST', "event names or mc's short names (put, delete, get, replica, ilm, scanner, ...)"],
      ['--prefix P', 'only keys starting with P'],
      ['--suffix S', 'only keys ending with S'],
      [
        "--pattern '<json>'",
        'only records the event pattern matches, e.g. \'{"s3":{"object":{"size":[{"numeric":[">",1048576]}]}}}\'',
      ],
    ],
    options: {
      event: { type: 'string' },
      prefix: { type: 'string', default: '' },
      suffix: { type: 'string', default: '' },
      pattern: { type: 'string' },
    },
    maxArguments: 2,
    run: ([bucket, arn], values) => {
      if (!bucket) throw missingArgument('events add', '<bucket>');
      if (!arn) throw missingArgument('events add', '<arn>');
      const pattern = values.pattern === undefined ? undefined : patternOption(values.pattern);
      return withRules(async (store) => {
        const rules = await store.get(bucket);
        const rule: NotificationRule = {
          id: String(Math.max(0, ...rules.map((r) => Number(r.id) || 0)) + 1),
          arn,
          events: parseEventList(values.event ?? MC_DEFAULT_EVENTS.join(',')),
          prefix: values.prefix,
          suffix: values.suffix,
          ...(pattern !== undefined ? { pattern } : {}),
        };
        const checked = validateRules([...rules, rule], enabledArns());
        await store.put(bucket, checked);
        console.log(`Successfully added ${checked[checked.length - 1].arn}`);
      });
    },
  }),
  subcommand({
    name: 'events list',
    synopsis: ['<bucket>'],
    help: "Prints the bucket's rules, one a line, as `mc event ls` does.",
    options: {},
    maxArguments: 1,
    run: ([bucket]) => {
      if (!bucket) throw missingArgument('events list', '<bucket>');
      return withRules(async (store) => {
        for (const rule of await store.get(bucket)) console.log(describeRule(rule));
      });
    },
  }),
  subcommand({
    name: 'events remove',
    synopsis: ['<bucket> [<arn>] [--force]'],
    help: "Removes the bucket's rules for <arn>; every rule of the bucket with --force and no <arn>.",
    optionHelp: [['--force', 'remove every rule of the bucket']],
    options: { force: { type: 'boolean', default: false } },
    maxArguments: 2,
    run: ([bucket, arn], values) => {
      if (!bucket) throw missingArgument('events remove', '<bucket>');
      if (!arn && !values.force) throw new UsageError('events remove: removing every rule of a bucket needs --force');
      return withRules(async (store) => {
        const rules = await store.get(bucket);
        const kept = arn ? rules.filter((r) => r.arn !== arn) : [];
        if (kept.length === rules.length) throw new UsageError(`no rule for ${arn ?? 'any ARN'} on bucket ${bucket}`);
        await store.put(bucket, kept);
        console.log(`Successfully removed ${arn ?? 'all rules'}`);
      });
    },
  }),
  subcommand({
    name: 'events import',
    synopsis: ['<bucket> <notification.xml>'],
    help: "Replaces the bucket's rules with those of an S3 NotificationConfiguration XML file (what `mc event export` writes).",
    options: {},
    maxArguments: 2,
    run: ([bucket, file]) => {
      if (!bucket) throw missingArgument('events import', '<bucket>');
      if (!file) throw missingArgument('events import', '<notification.xml>');
      return withRules(async (store) => {
        const imported = validateRules(rulesFromXml(readXml(file)), enabledArns());
        await store.put(bucket, imported);
        console.log(`Successfully imported ${imported.length} rules`);
      });
    },
  }),
  subcommand({
    name: 'events export',
    synopsis: ['<bucket> [--patterns]'],
    help: [
      "Prints the bucket's rules as S3 NotificationConfiguration XML. A rule with an event pattern is refused (that XML",
      "has no form for it) unless --patterns writes bucketflow's extension element, which only `events import` reads.",
    ].join('\n'),
    optionHelp: [['--patterns', "write rules' event patterns as <bucketflow:EventPattern> (not for MinIO or S3)"]],
    options: { patterns: { type: 'boolean', default: false } },
    maxArguments: 1,
    run: ([bucket], values) => {
      if (!bucket) throw missingArgument('events export', '<bucket>');
      return withRules(async (store) =>
        console.log(rulesToXml(await store.get(bucket), { patterns: values.patterns })),
      );
    },
  }),
  subcommand({
    name: 'events test',
    synopsis: ['<bucket> <key> [--wait SECONDS] [--json]'],
    help: [
      'Publishes an s3:ObjectCreated:Put event for the object, shaped as MinIO sends it (as S3 sends a test event once',
      'notifications are set up), waits for its delivery to end, then shows it as `deliveries show` does.',
    ].join('\n'),
    optionHelp: [
      ['--wait SECONDS', 'how long to wait for the delivery to end (default 30)'],
      ['--json', 'JSON instead of text'],
    ],
    options: { wait: { type: 'string' }, json: { type: 'boolean', default: false } },
    maxArguments: 2,
    run: async ([bucket, key], values) => {
      if (!bucket) throw missingArgument('events test', '<bucket>');
      if (!key) throw missingArgument('events test', '<key>');
      return (await deliveries()).testEventCommand(bucket, key, values, settings());
    },
  }),
  subcommand({
    name: 'targets list',
    synopsis: [''],
    help: 'Prints every configured target: its ARN, type and whether it is enabled.',
    options: {},
    maxArguments: 0,
    run: async () => {
      for (const t of targets()) console.log(`${t.arn}   ${t.type}   ${t.enabled ? 'enabled' : 'disabled'}`);
    },
  }),
  subcommand({
    name: 'targets health',
    synopsis: [''],
    help: "Probes every enabled target (online or offline, with the reason), with its pause and each worker's circuit.",
    options: {},
    maxArguments: 0,
    run: () =>
      withRules(async (store) => {
        // Loaded here only: every driver's client library, which the other commands do not need.
        const { TargetPool } = await import('../targets/pool');
        const pool = new TargetPool(targets());
        try {
          const states = await store.targetStates();
          for (const [arn, health] of Object.entries(await pool.health())) {
            console.log(
              [
                `${arn}   ${health.online ? 'online' : 'offline'}${health.detail ? `   ${health.detail}` : ''}`,
                ...describeState(states[arn]),
              ].join('   '),
            );
          }
        } finally {
          await pool.close();
        }
      }),
  }),
  ...(['pause', 'resume'] as const).map((action) =>
    subcommand({
      name: `targets ${action}`,
      synopsis: ['<arn>'],
      help:
        action === 'pause'
          ? 'Pauses deliveries to the target on every worker: they wait (retrying, not failing) until it is resumed.'
          : 'Resumes deliveries to a paused target.',
      options: {},
      maxArguments: 1,
      run: ([arn]) => {
        if (!arn) throw missingArgument(`targets ${action}`, '<arn>');
        const known = targets().map((t) => t.arn);
        if (!known.includes(arn))
          throw new ArgumentError(arn, `unknown ARN (configured: ${known.join(', ') || 'none'})`);
        return withRules(async (store) => {
          const changed = await store.setPaused(arn, action === 'pause');
          console.log(
            `${action === 'pause' ? 'Paused' : 'Resumed'} ${arn}${changed ? '' : ` (it was already ${action === 'pause' ? 'paused' : 'running'})`}`,
          );
        });
      },
    }),
  ),
  subcommand({
    name: 'backfill',
    synopsis: [
      '<bucket> [--prefix P] [--target ARN] [--since DATE] [--versions] [--endpoint URL] [--detach]',
      '--cancel <bucket> [--prefix P] [--target ARN]',
    ],
    help: [
      'Delivers what the bucket already holds: lists it through the S3 API and delivers one s3:ObjectCreated:Put event',
      "per object (per version with --versions), shaped as MinIO sends it and marked as a backfill's, to the targets the",
      "bucket's rules match (or only to --target), in batches, as a Temporal workflow that survives worker restarts.",
      'Shows objects listed, published and delivered, the rate and the ETA until it ends; Ctrl-C asks whether to cancel.',
      'The same command while one runs for the bucket, prefix and target attaches to it. S3 access: AWS_ENDPOINT_URL_S3',
      '(or AWS_ENDPOINT_URL, or --endpoint), AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, here and on the workers.',
    ].join('\n'),
    optionHelp: [
      ['--prefix P', 'only keys starting with P'],
      ['--target ARN', "only this target (an enabled one), whatever the bucket's rules say"],
      ['--since DATE', 'only objects modified since DATE (ISO, e.g. 2026-01-31) or within a duration (7d, 24h)'],
      ['--versions', 'every version of every object, not only the current ones (a versioned bucket)'],
      ['--endpoint URL', 'the S3 API of the bucket (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS)'],
      ['--detach', 'start it (or find it running) and return at once'],
      ['--cancel', 'cancel the backfill running for the bucket (with the same --prefix and --target)'],
    ],
    options: {
      prefix: { type: 'string' },
      target: { type: 'string' },
      since: { type: 'string' },
      versions: { type: 'boolean', default: false },
      endpoint: { type: 'string' },
      detach: { type: 'boolean', default: false },
      cancel: { type: 'boolean', default: false },
    },
    maxArguments: 1,
    run: async ([bucket], values) => {
      if (!bucket) throw missingArgument('backfill', '<bucket>');
      return (await import('./backfill')).backfillCommand(bucket, values, settings());
    },
  }),
  subcommand({
    name: 'deliveries list',
    synopsis: [
      '[--bucket B] [--key K] [--prefix P] [--status S[,S]] [--target ARN] [--origin O] [--since 1h] [--limit N] [--json]',
    ],
    help: `Lists deliveries, newest first, from Temporal's visibility (the search attributes).\n${STATUSES}`,
    optionHelp: [
      ['--bucket B, --key K, --prefix P', 'the object'],
      ['--status S[,S]', "the delivery's status"],
      ['--target ARN', 'deliveries to this target'],
      [
        '--origin O',
        'events from this origin: a server (minio, ceph, aws-s3, aws-sns, aws-eventbridge) or a listing (scan, reconcile, backfill)',
      ],
      ['--since 1h', 'started within this long (a duration: 30m, 24h, 7d)'],
      ['--limit N', 'at most N rows (default 50)'],
      ['--json', 'JSON instead of a table'],
    ],
    options: {
      bucket: { type: 'string' },
      key: { type: 'string' },
      prefix: { type: 'string' },
      status: { type: 'string' },
      target: { type: 'string' },
      origin: { type: 'string' },
      since: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    maxArguments: 0,
    run: async (_args, values) => (await deliveries()).listCommand(values, settings()),
  }),
  subcommand({
    name: 'deliveries show',
    synopsis: ['<eventId | workflowId | bucket/key> [--json]'],
    help: "Explains one delivery: each target's state, attempts, timings and last error, its redeliveries, its Web UI link.",
    optionHelp: [['--json', 'JSON instead of text']],
    options: { json: { type: 'boolean', default: false } },
    maxArguments: 1,
    run: async ([ref], values) => {
      if (!ref) throw missingArgument('deliveries show', '<delivery> (an event id, workflow id or bucket/key)');
      return (await deliveries()).showCommand(ref, values, settings());
    },
  }),
  subcommand({
    name: 'redeliver',
    synopsis: [
      '<eventId | workflowId | bucket/key> [--target ARN] [--dry-run] [--json]',
      '--status failed|partial [--since 24h] [--bucket B] [--target ARN] [--limit N] [--dry-run] [--json]',
    ],
    help: [
      'Delivers an event again, to its failed targets (or --target): one delivery, or in bulk every failed or',
      'partial delivery chosen by --status. A redelivery is a new workflow run that names its original.',
    ].join('\n'),
    optionHelp: [
      ['--target ARN', 'only this target'],
      ['--status failed|partial', 'bulk: the deliveries to redeliver'],
      ['--since 24h, --bucket B', 'bulk: started within this long, of this bucket'],
      ['--limit N', 'bulk: at most N deliveries (default 1000)'],
      ['--dry-run', 'print what would start, start nothing'],
      ['--json', 'JSON instead of a table'],
    ],
    options: {
      target: { type: 'string' },
      status: { type: 'string' },
      since: { type: 'string' },
      bucket: { type: 'string' },
      limit: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    maxArguments: 1,
    run: async ([ref], values) => (await deliveries()).redeliverCommand(ref, values, settings()),
  }),
];

const SCAN_ALSO =
  "Credentials come from the worker's environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or a profile).";

/** The scan commands, declared here; run by src/operator/scans.ts (loaded on use: the Temporal client). */
const scanCommands = () => import('./scans');
const SCAN_COMMANDS: Subcommand[] = [
  subcommand({
    name: 'scan add',
    synopsis: ['<bucket> --every <duration> [--prefix P] [--endpoint URL] [--metadata] [--reconcile [--settle D]]'],
    help: [
      'Lists the bucket every <duration> (a Temporal Schedule; the first run at once) and delivers what changed since the',
      "previous listing to the bucket's targets, as MinIO's events: new or changed ETag, size or time -> s3:ObjectCreated:Put,",
      'gone -> s3:ObjectRemoved:Delete (origin "scan"). For stores that send no notifications. Objects modified before the',
      'scan was added are its baseline (deliver those with backfill). With --reconcile, for stores that do notify: compares',
      'the listing with what was delivered and delivers only what no target has seen (origin "reconcile").',
      'Adding a scan that exists (same bucket and prefix) updates it. ' + SCAN_ALSO,
    ].join('\n'),
    optionHelp: [
      ['--every D', 'how often to list: 30s, 5m, 1h (at least 1s)'],
      ['--prefix P', 'only keys starting with P (a bucket may have one scan per prefix)'],
      ['--endpoint URL', "the S3 endpoint (default: the worker's AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, else AWS)"],
      ['--metadata', 'HEAD each changed object: its records carry its content type and user metadata'],
      ['--reconcile', 'compare with what was delivered (missed notifications) instead of with the previous listing'],
      ['--settle D', 'with --reconcile: leave objects changed this recently to the next run (default 1m)'],
    ],
    options: {
      every: { type: 'string' },
      prefix: { type: 'string' },
      endpoint: { type: 'string' },
      metadata: { type: 'boolean', default: false },
      reconcile: { type: 'boolean', default: false },
      settle: { type: 'string' },
    },
    maxArguments: 1,
    run: async ([bucket], values) => {
      if (!bucket) throw missingArgument('scan add', '<bucket>');
      const { scanAddCommand } = await scanCommands();
      return withRules((store) => scanAddCommand(bucket, values, settings(), store));
    },
  }),
  subcommand({
    name: 'scan list',
    synopsis: ['[--json]'],
    help: "Prints every scan: its bucket, prefix, mode, interval, endpoint, its schedule's next run and what its last run found.",
    optionHelp: [['--json', 'JSON instead of a table']],
    options: { json: { type: 'boolean', default: false } },
    maxArguments: 0,
    run: async (_args, values) => {
      const { scanListCommand } = await scanCommands();
      return withRules((store) => scanListCommand(values, settings(), store));
    },
  }),
  subcommand({
    name: 'scan remove',
    synopsis: ['<bucket> [--prefix P]'],
    help: "Removes the bucket's scan (of --prefix, if it has one): deletes its schedule, its definition and the listing it kept.",
    optionHelp: [['--prefix P', 'the scan of this prefix']],
    options: { prefix: { type: 'string' } },
    maxArguments: 1,
    run: async ([bucket], values) => {
      if (!bucket) throw missingArgument('scan remove', '<bucket>');
      const { scanRemoveCommand } = await scanCommands();
      return withRules((store) => scanRemoveCommand(bucket, values, settings(), store));
    },
  }),
  subcommand({
    name: 'scan run',
    synopsis: ['<bucket> [--prefix P]'],
    help: "Starts a run of the bucket's scan now, besides its schedule (nothing if one is running).",
    optionHelp: [['--prefix P', 'the scan of this prefix']],
    options: { prefix: { type: 'string' } },
    maxArguments: 1,
    run: async ([bucket], values) => {
      if (!bucket) throw missingArgument('scan run', '<bucket>');
      const { scanRunCommand } = await scanCommands();
      return withRules((store) => scanRunCommand(bucket, values, settings(), store));
    },
  }),
];

function readXml(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${errorMessage(err)}`);
  }
}

/** `--pattern`'s JSON, checked: a bad one is one line naming the JSON path. */
function patternOption(text: string) {
  try {
    return parsePattern(text);
  } catch (err) {
    if (err instanceof PatternError) throw new UsageError(`--pattern ${err.message}`);
    throw err;
  }
}

/** Pause and each worker's circuit, as `targets health` prints them. */
function describeState(state: TargetStateRecord | undefined): string[] {
  const parts = state?.paused ? [`paused since ${state.paused.since}`] : [];
  for (const [worker, circuit] of Object.entries(state?.circuits ?? {})) {
    const why =
      circuit.state === 'open'
        ? ` after ${circuit.failures} failures${circuit.lastError ? `: ${circuit.lastError}` : ''}`
        : '';
    parts.push(`circuit ${circuit.state} on ${worker} since ${circuit.since}${why}`);
  }
  return parts;
}

/** As `mc event ls` prints it, with the rule's event pattern (compact JSON) last. */
export function describeRule(rule: NotificationRule): string {
  const filters = [rule.prefix && `prefix="${rule.prefix}"`, rule.suffix && `suffix="${rule.suffix}"`].filter(Boolean);
  const pattern = rule.pattern !== undefined ? `   Pattern: ${JSON.stringify(rule.pattern)}` : '';
  return `${rule.arn}   ${rule.events.join(',')}${filters.length ? `   Filter: ${filters.join(' ')}` : ''}${pattern}`;
}

/** Runs the command line (`bin/bucketflow ARGS`): bad input (arguments, rules, config, settings) exits 2 with its
 * message, anything else 1 with its stack. */
export async function runCli(argv: string[]): Promise<void> {
  await runCommandLine(argv, [...COMMANDS, ...SCAN_COMMANDS], STATUSES).catch((err: Error) => {
    if (err instanceof OperationError) {
      console.error(`bucketflow: ${err.message}`);
      process.exit(err.exitCode);
    }
    const badInput =
      err instanceof UsageError ||
      err instanceof ArgumentError ||
      err instanceof RuleError ||
      err instanceof ConfigError ||
      err instanceof UnknownEventError;
    console.error(badInput ? `bucketflow: ${err.message}` : err);
    process.exit(badInput ? 2 : 1);
  });
}
