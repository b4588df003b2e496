// `npm run bench:poison`: the CPU a poison record costs the Kafka source (src/sources/kafka.ts): read it
// (eventsOfRecord: JSON, the parsers, the size check), find it can never become an event, and write its skip line
// (the logger: redaction, cut). Measured with process.cpuUsage() in this process, no server needed, for records of
// 1 MB (the broker's default largest message) of three shapes: not JSON, a MinIO envelope and a Ceph record whose
// event name is a megabyte of the text that took the first redaction patterns quadratic time. Beside it, in the same
// run and at sizes it can finish, the skip line as first written (the reason quoting the whole
// value, every string redacted whole by the patterns as first written: test/helpers/reference-redaction.ts),
// against today's, with their ratio. Prints medians; the skip lines go to stderr (`2>/dev/null` to hide them).
// Settings (env): POISON_RUNS (default 9), POISON_BEFORE_SIZES (default "25000,50000,100000").
import { buildEvent, toEnvelope } from '../src/events';
import { eventsOfRecord } from '../src/sources/kafka';
import { childLogger, log } from '../src/telemetry/log';
import { referenceRedactCredentials } from '../test/helpers/reference-redaction';

const RUNS = Number(process.env.POISON_RUNS ?? 9);
const BEFORE_SIZES = (process.env.POISON_BEFORE_SIZES ?? '25000,50000,100000').split(',').map(Number);
const SLOW_TEXT = 'a-?=(';
const SKIP_LINE = 'kafka source: record skipped, it can never become an event';

function cpuMs(run: () => unknown): number {
  const start = process.cpuUsage();
  run();
  const spent = process.cpuUsage(start);
  return (spent.user + spent.system) / 1000;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** A record's value of about `bytes` bytes, of each shape. */
function poisonValues(bytes: number): Record<string, Buffer> {
  const minio = toEnvelope(buildEvent({ eventName: 's3:ObjectCreated:Put', bucket: 'photos', key: 'a.jpg' }));
  const name = SLOW_TEXT.repeat(Math.floor((bytes - 700) / SLOW_TEXT.length));
  const ceph = {
    Records: [
      {
        eventVersion: '2.2',
        eventSource: 'ceph:s3',
        eventTime: '2019-11-22T13:47:35.124724Z',
        eventName: name,
        s3: { bucket: { name: 'b' }, object: { key: 'k' } },
      },
    ],
  };
  return {
    'not JSON': Buffer.from(SLOW_TEXT.repeat(Math.floor(bytes / SLOW_TEXT.length))),
    'MinIO, long event name': Buffer.from(
      JSON.stringify({ ...minio, Records: [{ ...minio.Records[0], eventName: name }] }),
    ),
    'Ceph, long event name': Buffer.from(JSON.stringify(ceph)),
  };
}

/** Today's path: read the record, skip it, write the line (a logger of its own per run, so no line is held back as a
 * repeat). */
function skipNow(value: Buffer, run: number): void {
  const content = eventsOfRecord(value);
  if (!('skip' in content)) throw new Error('a poison record was accepted');
  log(
    'WARN',
    SKIP_LINE,
    { topic: 'bench', partition: 0, offset: String(run), reason: content.skip },
    childLogger({ bench: run }),
  );
}

/** The skip line's redaction before: the reason quoted the whole event name, and each string was redacted whole. */
function skipBefore(value: Buffer): void {
  const name = /"eventName":"([^"]*)"/.exec(value.toString('utf8'))?.[1] ?? value.toString('utf8');
  referenceRedactCredentials(`Records[0].eventName: unknown event name "${name}"`);
  referenceRedactCredentials(SKIP_LINE);
}

console.log(`poison record: CPU per record skipped and logged (median of ${RUNS}, process.cpuUsage)`);
for (const [shape, value] of Object.entries(poisonValues(1_000_000))) {
  const samples = Array.from({ length: RUNS }, (_, run) => cpuMs(() => skipNow(value, run)));
  console.log(
    `  ${shape.padEnd(24)} ${value.length} bytes: ${median(samples).toFixed(1)} ms (min ${Math.min(...samples).toFixed(1)}, max ${Math.max(...samples).toFixed(1)})`,
  );
}
console.log('before and now, same run (MinIO shape, event name of the size shown):');
for (const bytes of BEFORE_SIZES) {
  const value = poisonValues(bytes)['MinIO, long event name'];
  const before = median(
    Array.from({ length: Math.max(1, Math.floor(RUNS / 3)) }, () => cpuMs(() => skipBefore(value))),
  );
  const now = median(Array.from({ length: RUNS }, (_, run) => cpuMs(() => skipNow(value, RUNS + run))));
  console.log(
    `  ${String(bytes).padStart(8)} bytes: before ${before.toFixed(1)} ms (the line's redaction alone), now ${now.toFixed(2)} ms (all of it): ${(before / now).toFixed(0)}x`,
  );
}
