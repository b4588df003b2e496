// Each target type's parameters and the rules its values must follow, declared once: the loader checks
// them, so a driver receives a valid config and checks only what needs I/O (reading PEM files).
// Canonical names are today's MinIO snake_case; the guide's camelCase spellings are accepted as aliases.
import { parseArn, type TargetType } from './arn';
import { authorizationFor } from './auth-token';
import { errorMessage } from '../errors';
import { parseSigningSecrets } from '../webhook-signature';
import { parseGoDsn, parseHostPort, parseLibpq, parseUrl } from './connection-strings';
import { ConfigError, type ParamSpec, type ParamSpecs } from './params';

export type { TargetType } from './arn';

export interface CommonConfig {
  enable: boolean;
  queue_dir: string;
  queue_limit: number;
  comment: string;
  retry_initial_interval_ms: number;
  retry_max_interval_ms: number;
  retry_backoff: number;
  retry_max_duration_ms: number;
  fast_attempts: number;
  fast_retry_interval_ms: number;
  max_rate: number;
  circuit_threshold: number;
  circuit_probe_interval_ms: number;
  /** The ARN of the target a delivery that fails for good is handed to (empty: none). See docs/targets.md. */
  dead_letter: string;
  order: 'none' | 'key';
  order_window_ms: number;
}

type Format = 'namespace' | 'access';

/**
 * How a message target (webhook, Kafka, AMQP, NATS, MQTT) writes an event: `minio` (MinIO's envelope, as MinIO
 * sends it), or CloudEvents 1.0 in structured mode (`cloudevents`) or binary mode (`cloudevents-binary`): see
 * src/events/cloudevents.ts and src/targets/message-format.ts. Empty (`format=""` in the environment) is `minio`.
 */
export const MESSAGE_FORMATS = ['minio', 'cloudevents', 'cloudevents-binary'] as const;
export type MessageFormat = (typeof MESSAGE_FORMATS)[number];

export interface AmqpConfig extends CommonConfig {
  format: MessageFormat;
  url: string;
  exchange: string;
  exchange_type: string;
  routing_key: string;
  mandatory: boolean;
  immediate: boolean;
  durable: boolean;
  internal: boolean;
  no_wait: boolean;
  auto_deleted: boolean;
  delivery_mode: number;
  publisher_confirms: boolean;
}
export interface ElasticsearchConfig extends CommonConfig {
  url: string;
  index: string;
  format: Format;
  username: string;
  password: string;
}
export interface RedisConfig extends CommonConfig {
  address: string;
  key: string;
  format: Format;
  password: string;
  user: string;
}
export interface NatsConfig extends CommonConfig {
  format: MessageFormat;
  address: string;
  subject: string;
  username: string;
  password: string;
  token: string;
  tls: boolean;
  tls_skip_verify: boolean;
  cert_authority: string;
  client_cert: string;
  client_key: string;
  ping_interval: number;
  jetstream: boolean;
}
export interface PostgresqlConfig extends CommonConfig {
  connection_string: string;
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  table: string;
  format: Format;
  max_open_connections: number;
}
export interface MysqlConfig extends CommonConfig {
  dsn_string: string;
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  table: string;
  format: Format;
  max_open_connections: number;
}
export interface KafkaConfig extends CommonConfig {
  format: MessageFormat;
  brokers: string[];
  topic: string;
  sasl: boolean;
  sasl_username: string;
  sasl_password: string;
  sasl_mechanism: 'plain' | 'sha256' | 'sha512';
  tls: boolean;
  tls_skip_verify: boolean;
  tls_client_auth: number;
  client_tls_cert: string;
  client_tls_key: string;
  version: string;
  batch_size: number;
  batch_commit_timeout: number;
  compression_codec: string;
  compression_level: number;
}
export interface WebhookConfig extends CommonConfig {
  format: MessageFormat;
  endpoint: string;
  auth_token: string;
  client_cert: string;
  client_key: string;
  timeout_ms: number;
  /** Standard Webhooks secrets (`whsec_...`, space- or comma-separated); empty = requests are not signed. */
  signing_secret: string;
}
export interface MqttConfig extends CommonConfig {
  format: MessageFormat;
  broker: string;
  topic: string;
  username: string;
  password: string;
  qos: number;
  keep_alive_interval_ms: number;
  reconnect_interval_ms: number;
}

export interface TargetConfigByType {
  amqp: AmqpConfig;
  elasticsearch: ElasticsearchConfig;
  kafka: KafkaConfig;
  mqtt: MqttConfig;
  mysql: MysqlConfig;
  nats: NatsConfig;
  postgresql: PostgresqlConfig;
  redis: RedisConfig;
  webhook: WebhookConfig;
}

export type TargetEntry = {
  [T in TargetType]: { arn: string; type: T; id: string; enabled: boolean; config: TargetConfigByType[T] };
}[TargetType];

const str = (extra: Partial<ParamSpec> = {}): ParamSpec => ({ kind: 'string', ...extra });
const bool = (extra: Partial<ParamSpec> = {}): ParamSpec => ({ kind: 'bool', ...extra });
const int = (extra: Partial<ParamSpec> = {}): ParamSpec => ({ kind: 'int', ...extra });
const secret = (extra: Partial<ParamSpec> = {}): ParamSpec => str({ secret: true, ...extra });
const format = (fallback: Format): ParamSpec => str({ default: fallback, oneOf: ['namespace', 'access'] });
const messageFormat: ParamSpec = str({ default: 'minio', oneOf: MESSAGE_FORMATS });

/** Parameters every target type has. */
export const COMMON_PARAMS: ParamSpecs<CommonConfig> = {
  enable: bool(),
  queue_dir: str({ aliases: ['queueDir'] }),
  queue_limit: int({ aliases: ['queueLimit'], min: 0 }),
  comment: str(),
  retry_initial_interval_ms: { kind: 'duration', input: 'retry_initial_interval', default: 1_000 },
  retry_max_interval_ms: { kind: 'duration', input: 'retry_max_interval', default: 300_000 },
  retry_backoff: { kind: 'number', default: 2, min: 1 },
  retry_max_duration_ms: { kind: 'duration', input: 'retry_max_duration', default: 86_400_000 },
  // The fast path: a few quick attempts inside the event's first workflow task, before the schedule above.
  fast_attempts: int({ default: 3, min: 0, max: 10 }),
  fast_retry_interval_ms: { kind: 'duration', input: 'fast_retry_interval', default: 200 },
  // Operating a target (src/targets/gate.ts): events/s per worker (0 = unlimited), and the circuit breaker.
  max_rate: { kind: 'number', default: 0, min: 0 },
  circuit_threshold: int({ default: 5, min: 0 }),
  circuit_probe_interval_ms: { kind: 'duration', input: 'circuit_probe_interval', default: 5_000 },
  // Where a delivery that fails for good is handed (src/config/dead-letters.ts checks it names a usable target).
  dead_letter: str({ aliases: ['deadLetter'], check: arnProblem }),
  // Per-key order (docs/ordering.md): `key` hands one object's events to a workflow of the (target, object) that
  // delivers them one at a time in sequencer order, after holding each for the window (late arrivals sort first).
  order: str({ default: 'none', oneOf: ['none', 'key'] }),
  order_window_ms: { kind: 'duration', input: 'order_window', default: 1_000, max: 60_000 },
};

/** A value that is not an ARN at all (which target it names is checked once every target is loaded). */
function arnProblem(value: string): string | undefined {
  try {
    parseArn(value);
    return undefined;
  } catch (err) {
    return errorMessage(err);
  }
}

const sqlConnection = {
  host: str(),
  port: int(),
  user: str(),
  password: secret(),
  database: str(),
  table: str({ required: true }),
  max_open_connections: int({ default: 2, aliases: ['maxOpenConnections'], min: 1 }),
};

export const TARGET_PARAMS: { [T in TargetType]: ParamSpecs<TargetConfigByType[T]> } = {
  amqp: {
    ...COMMON_PARAMS,
    format: messageFormat,
    url: secret({ required: true }),
    exchange: str(),
    exchange_type: str({ aliases: ['exchangeType'] }),
    routing_key: str({ aliases: ['routingKey'] }),
    mandatory: bool(),
    immediate: bool(),
    durable: bool(),
    internal: bool(),
    no_wait: bool({ aliases: ['noWait'] }),
    auto_deleted: bool({ aliases: ['autoDeleted'] }),
    delivery_mode: int({ aliases: ['deliveryMode'], oneOf: [0, 1, 2] }),
    publisher_confirms: bool({ aliases: ['publisherConfirms'] }),
  },
  elasticsearch: {
    ...COMMON_PARAMS,
    url: str({ required: true }),
    index: str({ required: true }),
    format: format('access'),
    username: str(),
    password: secret(),
  },
  redis: {
    ...COMMON_PARAMS,
    address: str({ required: true }),
    key: str({ required: true }),
    format: format('access'),
    password: secret(),
    user: str(),
  },
  nats: {
    ...COMMON_PARAMS,
    format: messageFormat,
    address: str({ required: true }),
    subject: str({ required: true }),
    username: str(),
    password: secret(),
    token: secret(),
    tls: bool({ aliases: ['secure'] }),
    tls_skip_verify: bool({ aliases: ['tlsSkipVerify'] }),
    cert_authority: str({ aliases: ['certAuthority'] }),
    client_cert: str({ aliases: ['clientCert'] }),
    client_key: str({ aliases: ['clientKey'] }),
    ping_interval: int({ aliases: ['pingInterval'] }),
    jetstream: bool(),
  },
  postgresql: {
    ...COMMON_PARAMS,
    ...sqlConnection,
    connection_string: secret({ aliases: ['connectionString'] }),
    format: format('namespace'),
  },
  mysql: {
    ...COMMON_PARAMS,
    ...sqlConnection,
    dsn_string: secret({ aliases: ['dsnString'] }),
    format: format('namespace'),
  },
  kafka: {
    ...COMMON_PARAMS,
    format: messageFormat,
    brokers: { kind: 'list', required: true },
    topic: str({ required: true }),
    sasl: bool(),
    sasl_username: str(),
    sasl_password: secret(),
    sasl_mechanism: str({ default: 'plain', oneOf: ['plain', 'sha256', 'sha512'] }),
    tls: bool(),
    tls_skip_verify: bool(),
    tls_client_auth: int(),
    client_tls_cert: str(),
    client_tls_key: str(),
    version: str(),
    batch_size: int({ default: 1 }),
    // MinIO writes it as a Go duration ("1s"); normalized to milliseconds like our other durations.
    batch_commit_timeout: { kind: 'duration', default: 0 },
    compression_codec: str(),
    compression_level: int(),
  },
  webhook: {
    ...COMMON_PARAMS,
    format: messageFormat,
    endpoint: str({ required: true }),
    auth_token: secret({ aliases: ['authToken'] }),
    client_cert: str(),
    client_key: str(),
    timeout_ms: { kind: 'duration', input: 'timeout', default: 60_000 },
    signing_secret: secret({ aliases: ['signingSecret'], check: signingSecretProblem }),
  },
  mqtt: {
    ...COMMON_PARAMS,
    format: messageFormat,
    broker: str({ required: true }),
    topic: str({ required: true }),
    username: str(),
    password: secret(),
    qos: int({ oneOf: [0, 1, 2] }),
    keep_alive_interval_ms: {
      kind: 'duration',
      input: 'keep_alive_interval',
      aliases: ['keepAliveInterval'],
      default: 10_000,
    },
    reconnect_interval_ms: {
      kind: 'duration',
      input: 'reconnect_interval',
      aliases: ['reconnectInterval'],
      default: 5_000,
    },
  },
};

/** `whsec_<base64>` secrets, several allowed for rotation (see src/webhook-signature.ts). */
function signingSecretProblem(value: string): string | undefined {
  try {
    parseSigningSecrets(value);
    return undefined;
  } catch (err) {
    return errorMessage(err);
  }
}

/** The Elasticsearch namespace format's helper index is `<prefix><index>` (see src/targets/elasticsearch.ts). */
export const ELASTICSEARCH_HELPER_PREFIX = 'bucketflow-seq-';
const ELASTICSEARCH_INDEX = /^[^-_+.A-Z\\/*?"<>| ,#:][^A-Z\\/*?"<>| ,#:]*$/;
const SQL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,50}$/;

function fail(field: string, problem: string): never {
  throw new ConfigError(field, problem);
}

/** Two parameters set together or not at all; the error names the one missing. */
function together<C>(config: C, a: keyof C & string, b: keyof C & string, problem: string): void {
  if (Boolean(config[a]) !== Boolean(config[b])) fail(config[a] ? b : a, problem);
}

function sqlTable(table: string): void {
  if (!SQL_IDENTIFIER.test(table)) fail('table', `not a plain SQL identifier: "${table}"`);
}

/**
 * What each type's values must satisfy beyond their kind: formats, and parameters that go together.
 * Run by the loader on enabled targets (a disabled one may hold anything, as in MinIO); a rule throws a
 * ConfigError naming the parameter, which the loader qualifies with the target's ARN and config path.
 */
export const TARGET_RULES: { [T in TargetType]: (config: TargetConfigByType[T]) => void } = {
  amqp(c) {
    parseUrl(c.url, 'url', ['amqp:', 'amqps:']);
    if (c.exchange && !c.exchange_type) fail('exchange_type', 'required with exchange');
  },
  elasticsearch(c) {
    parseUrl(c.url, 'url', ['http:', 'https:']);
    if (!ELASTICSEARCH_INDEX.test(c.index) || c.index === '.' || c.index === '..') {
      fail(
        'index',
        `not a valid Elasticsearch index name (lowercase, no \\/*?"<>| ,#:, not starting with -_+.): "${c.index}"`,
      );
    }
    const maxBytes = 255 - ELASTICSEARCH_HELPER_PREFIX.length;
    if (Buffer.byteLength(c.index) > maxBytes) fail('index', `longer than ${maxBytes} bytes`);
    together(c, 'username', 'password', 'username and password must be set together');
  },
  redis(c) {
    parseHostPort(c.address, 'address', 6379);
  },
  nats(c) {
    if (/[\s*>]/.test(c.subject)) fail('subject', 'cannot publish to a wildcard subject');
    together(c, 'client_cert', 'client_key', 'client_cert and client_key go together');
  },
  postgresql(c) {
    sqlTable(c.table);
    const text = c.connection_string.trim();
    if (!text && !(c.host && c.database)) fail('connection_string', 'required unless host and database are given');
    if (text && !/^postgres(ql)?:\/\//.test(text)) parseLibpq(text, 'connection_string');
  },
  mysql(c) {
    sqlTable(c.table);
    const dsn = c.dsn_string.trim();
    if (!dsn && !(c.host && c.database)) fail('dsn_string', 'required unless host and database are given');
    if (dsn) parseGoDsn(dsn, 'dsn_string');
  },
  kafka(c) {
    if (c.sasl && !c.sasl_username) fail('sasl_username', 'required with sasl');
    if (c.tls) together(c, 'client_tls_cert', 'client_tls_key', 'client_tls_cert and client_tls_key go together');
    // kafkajs ships gzip only; snappy, lz4 and zstd would need extra codec packages.
    if (!['', 'none', 'gzip'].includes(c.compression_codec.toLowerCase())) {
      fail('compression_codec', `${JSON.stringify(c.compression_codec)} is not supported (use none or gzip)`);
    }
  },
  webhook(c) {
    parseUrl(c.endpoint, 'endpoint', ['http:', 'https:']);
    try {
      authorizationFor(c.auth_token);
    } catch (err) {
      fail('auth_token', errorMessage(err));
    }
    if (c.client_cert && !c.client_key) fail('client_key', 'required with client_cert');
    if (c.client_key && !c.client_cert) fail('client_cert', 'required with client_key');
  },
  mqtt(c) {
    parseUrl(c.broker, 'broker', ['tcp:', 'ssl:', 'tls:', 'ws:', 'wss:', 'mqtt:', 'mqtts:']);
    if (/[+#]/.test(c.topic)) fail('topic', 'cannot publish to a wildcard topic');
  },
};
