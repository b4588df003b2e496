// How an entry point (worker, ingest, npm start) dies on a start-up error: one JSON log line, plus the
// plain text of anything an operator must copy (the search-attribute commands), then exit 1.
import { operatorTextOf } from './errors';
import { log } from './telemetry/log';

export function exitOnStartError(what: string): (err: unknown) => never {
  return (err) => {
    log('ERROR', `${what} failed`, { error: err instanceof Error ? err.message : String(err) });
    const text = operatorTextOf(err);
    if (text) process.stderr.write(`${text}\n`);
    process.exit(1);
  };
}
