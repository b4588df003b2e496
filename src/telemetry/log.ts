// Log lines on stderr, shared by the worker, ingest and Temporal's runtime, made by pino: one JSON object
// per line for files, pipes and log collectors (the default), or one readable line (pino-pretty) when a
// person watches a terminal. Child loggers carry their bindings (e.g. `source: 'temporal'`) on each line.
// Nothing secret is written: fields named like secrets are censored by pino's redaction paths, and every
// string (the message included) passes through the one redaction of src/config/connection-strings.ts, cut to
// MAX_LOGGED_CHARS so that one huge value cannot make a huge line (or cost the redaction of a megabyte).
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import { REDACTED, redactCredentials } from '../config/connection-strings';

export type LogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
export type LogFields = Record<string, unknown>;
export type { Logger };

/** Field names whose values are never logged, at the top, one level down, and in a described target's config. */
const SECRET_FIELDS = [
  'password',
  'pass',
  'sslpassword',
  'token',
  'auth_token',
  'authorization',
  'sasl_password',
  'signing_secret',
  'client_key',
  'api_key',
  'apiKey',
  'secret',
];
export const REDACT_PATHS = SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `targets[*].config.${field}`]);

/** How much of a string a line keeps (the message and every string in a field); the rest is cut, with a marker. */
export const MAX_LOGGED_CHARS = 2048;
/**
 * How much of a string redaction reads before the cut: well past it, so a credential that begins before the cut
 * is still recognised by what follows it (a URL's `@host`, a DSN's `@tcp(`), and bounded, so a megabyte-long value
 * (a poison record quoted in a skip line) costs what 64 KiB does.
 */
export const REDACTED_WINDOW_CHARS = 64 * 1024;

/** A string as a line carries it: redacted (src/config/connection-strings.ts), cut to MAX_LOGGED_CHARS with a marker.
 * */
export function loggedText(text: string): string {
  if (text.length <= MAX_LOGGED_CHARS) return redactCredentials(text);
  const shown = redactCredentials(text.slice(0, REDACTED_WINDOW_CHARS)).slice(0, MAX_LOGGED_CHARS);
  return `${shown}... [cut: ${text.length} characters in all]`;
}

/** How deep a field's value is walked; an object deeper is not written (its strings could not be redacted). */
const MAX_LOGGED_DEPTH = 4;

/** Every string in a field's value, redacted and cut (objects and arrays walked, a few levels deep). */
function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return loggedText(value);
  if (value instanceof Error) return loggedText(value.message);
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_LOGGED_DEPTH) return `[nested deeper than ${MAX_LOGGED_DEPTH} levels: not logged]`;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactValue(item, depth + 1)]));
}

/** pino's options, apart from where the lines go: `level` and `message` by name, an ISO `time`. */
const options: pino.LoggerOptions = {
  level: 'info',
  messageKey: 'message',
  base: undefined, // no pid/hostname on every line
  timestamp: pino.stdTimeFunctions.isoTime,
  redact: { paths: REDACT_PATHS, censor: REDACTED },
  formatters: {
    level: (label) => ({ level: label.toUpperCase() }),
    log: (object) => redactValue(object) as Record<string, unknown>,
  },
  hooks: {
    // The message (and any string argument) through the same redaction as the fields.
    logMethod(args, method) {
      method.apply(
        this,
        args.map((arg) => (typeof arg === 'string' ? loggedText(arg) : arg)) as Parameters<typeof method>,
      );
    },
  },
};

/** `[12:34:56.789] INFO: worker started {"taskQueue":"bucketflow"}`: local time, the level, the message, the fields. */
function readableStream(): pino.DestinationStream {
  return pretty({
    destination: 2,
    sync: true,
    singleLine: true,
    messageKey: 'message',
    translateTime: 'SYS:HH:MM:ss.l',
    errorLikeObjectKeys: [], // our `error` fields are messages already: on the line like any other field
  });
}

/** The process's root logger: synchronous writes, so the last line before an exit is never lost. */
export const logger: Logger = pino(
  options,
  process.stderr.isTTY ? readableStream() : pino.destination({ fd: 2, sync: true }),
);

/** A logger whose every line carries `bindings` (e.g. `{ source: 'temporal' }`); pino has it follow setLogLevel. */
export function childLogger(bindings: LogFields): Logger {
  return logger.child(bindings);
}

/** Entry points set the level from their settings (BUCKETFLOW_LOG_LEVEL); INFO until then. */
export function setLogLevel(level: LogLevel): void {
  logger.level = level.toLowerCase();
}

/** One line: `log('WARN', 'delivery attempt failed', { arn, attempt })`. Repeated warnings and errors are counted
 * (below). */
export function log(level: LogLevel, message: string, fields: LogFields = {}, on: Logger = logger): void {
  if ((level === 'WARN' || level === 'ERROR') && !repeats.admit(level, message, on)) return;
  on[pinoLevel(level)](fields, message);
}

/**
 * Repeated warnings and errors (the same message, numbers and ids aside, from the same logger): the first few of
 * each window are written, the rest counted, and at the window's end one line says how many were left out
 * (`repeated`). An outage that fails every call then reads as a few lines, not thousands.
 */
export class RepeatedLines {
  private readonly windows = new Map<
    string,
    { level: LogLevel; message: string; on: Logger; written: number; left: number }
  >();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly windowMs = 10_000,
    private readonly burst = 3,
  ) {}

  /** Whether this line is written now (else it is counted). */
  admit(level: LogLevel, message: string, on: Logger): boolean {
    const key = `${level} ${JSON.stringify(on.bindings())} ${message.replace(/[0-9a-f]{8}-[0-9a-f-]{27}|\d+/gi, '#')}`;
    const window = this.windows.get(key) ?? { level, message, on, written: 0, left: 0 };
    this.windows.set(key, window);
    this.timer ??= setTimeout(() => this.flush(), this.windowMs).unref();
    if (window.written < this.burst) {
      window.written++;
      return true;
    }
    window.left++;
    return false;
  }

  /** Ends the window: one line per message that was left out, with the count. */
  flush(): void {
    this.timer = undefined;
    const windows = [...this.windows.values()];
    this.windows.clear();
    for (const { level, message, on, left } of windows) {
      if (left > 0)
        on[pinoLevel(level)](
          { repeated: left, seconds: this.windowMs / 1000 },
          `${message} (and ${left} more like it)`,
        );
    }
  }
}

const repeats = new RepeatedLines();

function pinoLevel(level: LogLevel): 'trace' | 'debug' | 'info' | 'warn' | 'error' {
  return level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
}
