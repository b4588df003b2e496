// How an entry point (worker, ingest, npm start) dies on a start-up error: one JSON log line, plus the
// plain text of anything an operator must copy (the search-attribute commands), then exit 1.
import { SearchAttributesError } from './temporal/register-search-attributes';
import { log } from './telemetry/log';

export function exitOnStartError(what: string): (err: unknown) => never {
  return (err) => {
    log('ERROR', `${what} failed`, { error: err instanceof Error ? err.message : String(err) });
    if (err instanceof SearchAttributesError) process.stderr.write(`${err.message}\n`);
    process.exit(1);
  };
}
