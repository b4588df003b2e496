// Who may post events to the ingest, and who may read its operator pages (`/status`, the detail of `/health`),
// decided here and nowhere else. It fails closed: once any token is set, a source with neither a token of its
// own nor the global one is refused, unless BUCKETFLOW_INGEST_OPEN_SOURCES names it; the operator pages then
// need the global token. The token is checked before the body is read whenever no open source could take it.
// Which buckets a source's events may name is decided here too: BUCKETFLOW_INGEST_BUCKETS_<SOURCE>, else
// BUCKETFLOW_INGEST_BUCKETS (unset: every bucket), so a token leaked from one storage server cannot feed another's.
import { authorizationMatches } from '../config/auth-token';
import { EVENT_SOURCES, type EventSource, type ParsedEvent } from '../events';
import { sourceBucketsVariable } from '../settings';

export interface IngestAuthOptions {
  /** MinIO's `auth_token` rule (src/config/auth-token.ts), for every source without a token of its own, and the
   * operator pages. */
  authToken?: string;
  /** A token per source, so one leaked token does not open every source. */
  sourceTokens?: Partial<Record<EventSource, string>>;
  /** Sources accepted without any token while tokens are set (an explicit choice; never the operator pages). */
  openSources?: readonly EventSource[];
  /** Bucket patterns (`*` = any text) a source's events may name: its own list, else `global`; neither = every bucket.
   * */
  buckets?: { global?: readonly string[]; sources?: Partial<Record<EventSource, readonly string[]>> };
}

export class IngestAuth {
  /** Whether any token is set: then nothing is open unless named. */
  readonly enabled: boolean;
  private readonly open: ReadonlySet<EventSource>;
  private readonly buckets = new Map<EventSource, { patterns: RegExp[]; setting: string }>();

  constructor(private readonly options: IngestAuthOptions = {}) {
    this.enabled = Boolean(options.authToken) || Object.values(options.sourceTokens ?? {}).some(Boolean);
    this.open = new Set(options.openSources ?? []);
    for (const source of EVENT_SOURCES) {
      const own = options.buckets?.sources?.[source];
      const patterns = own ?? options.buckets?.global;
      if (!patterns) continue;
      const setting = own ? sourceBucketsVariable(source) : 'BUCKETFLOW_INGEST_BUCKETS';
      this.buckets.set(source, { patterns: patterns.map(bucketPattern), setting });
    }
  }

  /** Why a body of `source` may not carry these events (the first bucket outside the source's patterns), or undefined.
   * */
  bucketProblem(source: EventSource, events: readonly ParsedEvent[]): string | undefined {
    const allowed = this.buckets.get(source);
    if (!allowed) return undefined;
    const outside = events.find(
      ({ record }) => !allowed.patterns.some((pattern) => pattern.test(record.s3.bucket.name)),
    );
    if (!outside) return undefined;
    return `bucket ${JSON.stringify(outside.record.s3.bucket.name)} is not among the buckets ${source} may post for (${allowed.setting}); nothing of this body was started`;
  }

  /** Before the body is read: false when no source could accept a request with this Authorization header. */
  mayPost(authorization: string | undefined): boolean {
    if (!this.enabled || this.open.size > 0) return true;
    // Every source is compared (constant time each), so the time taken does not tell which token was close.
    return EVENT_SOURCES.map((source) => this.allows(source, authorization)).some(Boolean);
  }

  /** Whether a body of `source` with this Authorization header is accepted. */
  allows(source: EventSource, authorization: string | undefined): boolean {
    if (!this.enabled || this.open.has(source)) return true;
    const token = this.options.sourceTokens?.[source] || this.options.authToken;
    return token ? authorizationMatches(authorization, token) : false;
  }

  /** The operator pages: open only while no token at all is set; else the global token alone opens them. */
  operator(authorization: string | undefined): boolean {
    if (!this.enabled) return true;
    return this.options.authToken ? authorizationMatches(authorization, this.options.authToken) : false;
  }

  /** For the start-up log line: which sources need which kind of credential. */
  describe(): Record<EventSource, 'open' | 'own token' | 'global token' | 'refused'> {
    const of = (source: EventSource) =>
      !this.enabled || this.open.has(source)
        ? 'open'
        : this.options.sourceTokens?.[source]
          ? 'own token'
          : this.options.authToken
            ? 'global token'
            : 'refused';
    return Object.fromEntries(EVENT_SOURCES.map((source) => [source, of(source)])) as Record<
      EventSource,
      ReturnType<typeof of>
    >;
  }
}

/** `photos-*` -> /^photos-.*$/: `*` any text, everything else literal. */
function bucketPattern(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&'))
      .join('.*')}$`,
  );
}
