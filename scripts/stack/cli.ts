// `npm run stack -- up|down|status|logs <name>`: the real servers tests and the engine use, installed and
// run from .stack/ (see docs/setup.md).
import { errorMessage } from '../../src/errors';
import { withStackLock } from './lock';
import { logFile } from './paths';
import { logTail } from './processes';
import { down, status, up } from './runner';
import { selectServices, servicesToStart } from './services';
import { formatTable, type StatusRow } from './table';

const USAGE = 'usage: npm run stack -- up [names...] | down [names...] | status [names...] | logs <name> [lines]';

function report(rows: StatusRow[]): number {
  console.log(formatTable(rows));
  const failed = rows.filter((row) => row.state === 'FAILED');
  for (const row of failed) console.error(`\n${row.service} failed: ${row.detail}`);
  return failed.length === 0 ? 0 : 1;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...names] = argv;
  switch (command) {
    case 'up': {
      const began = Date.now();
      const rows = await withStackLock(() => Promise.all(servicesToStart(names).map(up)));
      console.log(`stack up: ${((Date.now() - began) / 1000).toFixed(1)} s`);
      return report(rows);
    }
    case 'down':
      return report(await withStackLock(() => Promise.all(selectServices(names).map(down))));
    case 'status':
      return report(await Promise.all(selectServices(names).map(status)));
    case 'logs': {
      const [name, lines] = names;
      if (!name || selectServices([name]).length !== 1) throw new Error(USAGE);
      console.log(`${logFile(name)}:\n${logTail(name, Number(lines) || 100)}`);
      return 0;
    }
    default:
      console.error(USAGE);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`stack: ${errorMessage(error)}`);
    process.exit(1);
  },
);
