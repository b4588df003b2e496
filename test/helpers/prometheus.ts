// A real Prometheus (Debian's `prometheus` package, installed through the stack's apt helper like the status
// page test's chromium) for tests: promtool, and a server on a free loopback port with a throw-away storage
// dir that scrapes the given jobs every second; queried through its HTTP API.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensurePackages } from '../../scripts/stack/apt';
import { freePort } from './dev-server';

export async function ensurePrometheus(): Promise<void> {
  await ensurePackages(['prometheus']);
}

/** Runs Debian's promtool; resolves with its exit code and output (stdout and stderr together). */
export async function promtool(args: string[], cwd: string): Promise<{ code: number; out: string }> {
  await ensurePrometheus();
  return new Promise((resolve) => {
    execFile('promtool', args, { cwd }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

export interface Sample {
  metric: Record<string, string>;
  value: number;
}

export interface PrometheusAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}

export interface PrometheusServer {
  url: string;
  /** An instant query at `time` (Unix seconds; default now); a vector's samples, or a scalar as one sample. */
  query(expr: string, time?: number): Promise<Sample[]>;
  /** Active (pending or firing) alerts. */
  alerts(): Promise<PrometheusAlert[]>;
  /** Every loaded rule's name, health and last evaluation error. */
  rules(): Promise<Array<{ name: string; health: string; lastError?: string }>>;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** Scrape jobs: job name -> host:port targets serving /metrics. */
  jobs: Record<string, string[]>;
  /** Rule files to load (absolute paths), evaluated every second. */
  ruleFiles?: string[];
}

export async function startPrometheus({ jobs, ruleFiles = [] }: PrometheusOptions): Promise<PrometheusServer> {
  await ensurePrometheus();
  const dir = await mkdtemp(path.join(tmpdir(), 'bucketflow-prometheus-'));
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: ruleFiles,
    scrape_configs: Object.entries(jobs).map(([job, targets]) => ({ job_name: job, static_configs: [{ targets }] })),
  };
  await writeFile(path.join(dir, 'prometheus.yml'), JSON.stringify(config)); // JSON is YAML
  const address = `127.0.0.1:${await freePort()}`;
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=${address}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://${address}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}: ${stderr}`);
    if (
      await fetch(`${url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready after 30 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  async function api<T>(pathAndQuery: string): Promise<T> {
    const body = (await (await fetch(`${url}/api/v1/${pathAndQuery}`)).json()) as {
      status: string;
      data: T;
      error?: string;
    };
    if (body.status !== 'success') throw new Error(`prometheus ${pathAndQuery}: ${body.error}`);
    return body.data;
  }

  return {
    url,
    async query(expr, time) {
      const params = new URLSearchParams({ query: expr, ...(time === undefined ? {} : { time: String(time) }) });
      const data = await api<{ resultType: string; result: unknown }>(`query?${params}`);
      if (data.resultType === 'scalar') return [{ metric: {}, value: Number((data.result as [number, string])[1]) }];
      if (data.resultType !== 'vector') throw new Error(`prometheus: ${expr} gave a ${data.resultType}, not a vector`);
      return (data.result as Array<{ metric: Record<string, string>; value: [number, string] }>).map(
        ({ metric, value }) => ({ metric, value: Number(value[1]) }),
      );
    },
    async alerts() {
      return (await api<{ alerts: PrometheusAlert[] }>('alerts')).alerts;
    },
    async rules() {
      const data = await api<{ groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> }>(
        'rules',
      );
      return data.groups.flatMap((g) => g.rules);
    },
    stop,
  };
}

/** What a PromQL expression names: its metrics, and the labels it matches on or groups by. */
export interface PromqlNames {
  metrics: Set<string>;
  /** Labels in selectors ({label="..."}) per metric. */
  matched: Map<string, Set<string>>;
  /** Labels in by (...), without (...), on (...), ignoring (...), group_left/right (...). */
  grouped: Set<string>;
}

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'inf',
  'nan',
]);

/** A small reader of PromQL's names (enough for rules and dashboards: not a full parser). */
export function promqlNames(expr: string): PromqlNames {
  const names: PromqlNames = { metrics: new Set(), matched: new Map(), grouped: new Set() };
  let rest = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""'); // string literals
  rest = rest.replace(/\[[^\]]*\]/g, ' '); // range and subquery durations
  rest = rest.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_, labels: string) => {
    for (const label of labels
      .split(',')
      .map((l) => l.trim())
      .filter(Boolean))
      names.grouped.add(label);
    return ' ';
  });
  rest = rest.replace(
    /([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}/g,
    (_, metric: string | undefined, matchers: string) => {
      const labels = [...matchers.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]);
      if (metric) {
        names.metrics.add(metric);
        const seen = names.matched.get(metric) ?? new Set<string>();
        for (const label of labels) seen.add(label);
        names.matched.set(metric, seen);
      }
      return ' ';
    },
  );
  for (const [, word, call] of rest.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    if (!call && !KEYWORDS.has(word.toLowerCase())) names.metrics.add(word);
  }
  return names;
}

/** A /metrics text's series: metric name -> the label names its samples carry. */
export function exportedSeries(text: string): Map<string, Set<string>> {
  const series = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s/.exec(line);
    if (!match) continue;
    const labels = series.get(match[1]) ?? new Set<string>();
    for (const [, label] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labels.add(label);
    series.set(match[1], labels);
  }
  return series;
}
