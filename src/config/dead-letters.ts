// The `dead_letter` parameter across targets, checked once every target is loaded (one parameter cannot see the
// others): it must name another configured, enabled target that can hold a dead letter, and dead letters must not
// run in a cycle. The failed delivery's hand-off itself is workflows/dead-letter.ts; the rules are in docs/targets.md.
import { ConfigError } from './params';
import type { TargetEntry } from './targets';

/** Store types whose `namespace` format keeps one row per object: a dead letter would overwrite (or delete) it. */
const ONE_ROW_PER_OBJECT = new Set(['redis', 'postgresql', 'mysql', 'elasticsearch']);

/** Throws a ConfigError naming the first enabled target whose `dead_letter` is unusable, and why. */
export function checkDeadLetters(targets: TargetEntry[]): void {
  const byArn = new Map(targets.map((entry) => [entry.arn, entry]));
  for (const entry of targets) {
    const to = entry.config.dead_letter;
    if (!entry.enabled || !to) continue;
    const fail = (problem: string) =>
      new ConfigError(`notify.${entry.type}.${entry.id}.dead_letter`, problem, entry.arn);
    const target = byArn.get(to);
    if (to === entry.arn) throw fail('a target cannot be its own dead letter');
    if (!target) throw fail(`names no configured target: ${to} (configured: ${[...byArn.keys()].join(', ')})`);
    if (!target.enabled) throw fail(`names a disabled target: ${to}`);
    if (ONE_ROW_PER_OBJECT.has(target.type) && 'format' in target.config && target.config.format === 'namespace')
      throw fail(
        `${to} keeps one row per object (format namespace): a dead letter needs a message target or format access`,
      );
    const path = [entry.arn, to];
    for (let next = target.config.dead_letter; next; next = byArn.get(next)?.config.dead_letter ?? '') {
      if (path.includes(next)) throw fail(`dead letters run in a cycle: ${[...path, next].join(' -> ')}`);
      path.push(next);
    }
  }
}
