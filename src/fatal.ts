// How an entry point (worker, ingest, npm start) dies on a start-up error: one JSON log line, plus the
// plain text of anything an operator must copy (the search-attribute commands), then exit 2 for a bad
// setting or configuration (a ConfigError names the variable or field; bin/bucketflow exits 2 for it too)
// and 1 for anything else.
import { ConfigError } from './config/params';
import { messageWithCause, operatorTextOf } from './errors';
import { log } from './telemetry/log';

export function exitOnStartError(what: string): (err: unknown) => never {
  return (err) => {
    log('ERROR', `${what} failed`, { error: messageWithCause(err) });
    const text = operatorTextOf(err);
    if (text) process.stderr.write(`${text}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  };
}
