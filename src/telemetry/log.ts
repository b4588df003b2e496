// Log lines on stderr, shared by the worker, ingest and Temporal's runtime: one JSON object per line for
// files, pipes and log collectors (the default), or one readable line when a person watches a terminal.
export type LogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

const ORDER: Record<LogLevel, number> = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4 };
let threshold = ORDER.INFO;

/** Entry points set the level from their settings (BUCKETFLOW_LOG_LEVEL); INFO until then. */
export function setLogLevel(level: LogLevel): void {
  threshold = ORDER[level];
}

export interface LogEntry {
  time: Date;
  level: LogLevel;
  message: string;
  fields: Record<string, unknown>;
}

export function log(level: LogLevel, message: string, fields: Record<string, unknown> = {}): void {
  if (ORDER[level] < threshold) return;
  const entry = { time: new Date(), level, message, fields };
  process.stderr.write((process.stderr.isTTY ? readableLine(entry) : jsonLine(entry)) + '\n');
}

export function jsonLine({ time, level, message, fields }: LogEntry): string {
  return JSON.stringify({ time: time.toISOString(), level, message, ...fields });
}

/** `12:34:56.789 INFO  worker started taskQueue=bucketflow targets=[...]`: local time, then key=value. */
export function readableLine({ time, level, message, fields }: LogEntry): string {
  const clock = [time.getHours(), time.getMinutes(), time.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  const pairs = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${readableValue(value)}`);
  return [`${clock}.${String(time.getMilliseconds()).padStart(3, '0')}`, level.padEnd(5), message, ...pairs].join(' ');
}

function readableValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value instanceof Error) return JSON.stringify(value.message);
  return JSON.stringify(value) ?? String(value);
}
