// Structured log lines (one JSON object per line on stderr), shared by the worker, ingest and Temporal's runtime.
export type LogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

const ORDER: Record<LogLevel, number> = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4 };
const threshold = ORDER[(process.env.BUCKETFLOW_LOG_LEVEL?.toUpperCase() as LogLevel) || 'INFO'] ?? ORDER.INFO;

export function log(level: LogLevel, message: string, fields: Record<string, unknown> = {}): void {
  if (ORDER[level] < threshold) return;
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level, message, ...fields }) + '\n');
}
