// The status table `up` and `status` print.
import { formatTable as table } from '../../src/operator/table';

export interface StatusRow {
  service: string;
  /** started | running | reused | stopped | not running | external | not answering | FAILED */
  state: string;
  pid?: number;
  endpoint: string;
  detail: string;
  seconds?: number;
}

export function formatTable(rows: StatusRow[]): string {
  const header = ['SERVICE', 'STATE', 'PID', 'ENDPOINT', 'SECONDS', 'VERSION / DETAIL'];
  const cells = rows.map((row) => [
    row.service,
    row.state,
    row.pid === undefined ? '-' : String(row.pid),
    row.endpoint,
    row.seconds === undefined ? '-' : row.seconds.toFixed(1),
    row.detail.split('\n')[0],
  ]);
  return table(header, cells);
}
