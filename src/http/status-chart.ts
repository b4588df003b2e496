// The status page's chart: deliveries started per minute over the last hour, stacked by status, drawn as
// inline SVG on the server (no script, no library, no CDN). Every bar segment carries its minute, status and
// count as data attributes and a <title> tooltip, so the numbers are readable without a mouse too.
import type { DeliveryStatus } from '../delivery/types';

const MINUTE_MS = 60_000;
export const CHART_MINUTES = 60;

/** The statuses charted, bottom to top, with their colours; pending and delivering count as in progress. */
export const CHART_SERIES = [
  { name: 'delivered', statuses: ['delivered'], colour: '#2e7d32' },
  { name: 'partial', statuses: ['partial'], colour: '#f9a825' },
  { name: 'failed', statuses: ['failed'], colour: '#c62828' },
  { name: 'no-targets', statuses: ['no-targets'], colour: '#9e9e9e' },
  { name: 'in progress', statuses: ['pending', 'delivering'], colour: '#1565c0' },
] as const satisfies ReadonlyArray<{ name: string; statuses: readonly DeliveryStatus[]; colour: string }>;

export type ChartSeries = (typeof CHART_SERIES)[number]['name'];

/** Per minute (oldest first) and series: how many deliveries started then with that status now. */
export function countPerMinute(
  deliveries: Array<{ startedAt: Date; status?: DeliveryStatus }>,
  now: Date,
): Array<{ minute: Date; counts: Record<ChartSeries, number> }> {
  const last = Math.floor(now.getTime() / MINUTE_MS);
  const slots = Array.from({ length: CHART_MINUTES }, (_, i) => ({
    minute: new Date((last - CHART_MINUTES + 1 + i) * MINUTE_MS),
    counts: Object.fromEntries(CHART_SERIES.map((s) => [s.name, 0])) as Record<ChartSeries, number>,
  }));
  for (const { startedAt, status } of deliveries) {
    const slot = slots[Math.floor(startedAt.getTime() / MINUTE_MS) - (last - CHART_MINUTES + 1)];
    const series = CHART_SERIES.find((s) => (s.statuses as readonly string[]).includes(status ?? 'pending'));
    if (slot && series) slot.counts[series.name]++;
  }
  return slots;
}

const hhmm = (date: Date) => date.toISOString().slice(11, 16);

/** The SVG (with a legend of totals) for `countPerMinute`'s slots. */
export function deliveriesChart(slots: ReturnType<typeof countPerMinute>): string {
  const [barWidth, gap, height, left, bottom, top] = [11, 2, 140, 36, 18, 8];
  const width = left + slots.length * (barWidth + gap);
  const highest = Math.max(1, ...slots.map((s) => CHART_SERIES.reduce((n, series) => n + s.counts[series.name], 0)));
  const scale = (height - top - bottom) / highest;
  const bars = slots.map((slot, i) => {
    let y = height - bottom;
    return CHART_SERIES.filter((series) => slot.counts[series.name] > 0)
      .map((series) => {
        const count = slot.counts[series.name];
        const h = Math.max(1, count * scale);
        y -= h;
        return `<rect class="bar" data-minute="${slot.minute.toISOString()}" data-status="${series.name}" data-count="${count}" x="${left + i * (barWidth + gap)}" y="${y.toFixed(1)}" width="${barWidth}" height="${h.toFixed(1)}" fill="${series.colour}"><title>${hhmm(slot.minute)} UTC: ${count} ${series.name}</title></rect>`;
      })
      .join('');
  });
  const ticks = slots.flatMap((slot, i) =>
    slot.minute.getUTCMinutes() % 10 === 0
      ? [`<text x="${left + i * (barWidth + gap)}" y="${height - 4}" font-size="10">${hhmm(slot.minute)}</text>`]
      : [],
  );
  const totals = CHART_SERIES.map((series) => [series, slots.reduce((n, s) => n + s.counts[series.name], 0)] as const);
  return `<svg id="chart" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="deliveries per minute, last hour, by status">
<line x1="${left}" y1="${height - bottom}" x2="${width}" y2="${height - bottom}" stroke="#999"/>
<text x="0" y="${top + 8}" font-size="10">${highest}/min</text><text x="0" y="${height - bottom}" font-size="10">0</text>
${bars.join('\n')}
${ticks.join('')}
</svg>
<p id="legend">${totals.map(([series, total]) => `<span data-status="${series.name}" data-total="${total}"><span style="color:${series.colour}">&#9632;</span> ${series.name} ${total}</span>`).join(' &nbsp; ')} (UTC)</p>`;
}
