// Each target type's parameters, declared once. Canonical names are today's MinIO snake_case; the guide's
// camelCase spellings are accepted as aliases.
import type { TargetType } from './arn';
import { parseSigningSecrets } from '../webhook-signature';
import type { ParamSpec, ParamSpecs } from './params';

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
}

type Format = 'namespace' | 'access';

export interface AmqpConfig extends CommonConfig {
  url: string; exchange: string; exchange_type: string; routing_key: string; mandatory: boolean; immediate: boolean;
  durable: boolean; internal: boolean; no_wait: boolean; auto_deleted: boolean; delivery_mode: number; publisher_confirms: boolean;
}
export interface ElasticsearchConfig extends CommonConfig {
  url: string; index: string; format: Format; username: string; password: string;
}
export interface RedisConfig extends CommonConfig {
  address: string; key: string; format: Format; password: string; user: string;
}
export interface NatsConfig extends CommonConfig {
  address: string; subject: string; username: string; password: string; token: string; tls: boolean; tls_skip_verify: boolean;
  cert_authority: string; client_cert: string; client_key: string; ping_interval: number; jetstream: boolean;
}
export interface PostgresqlConfig extends CommonConfig {
  connection_string: string; host: string; port: number; user: string; password: string; database: string;
  table: string; format: Format; max_open_connections: number;
}
export interface MysqlConfig extends CommonConfig {
  dsn_string: string; host: string; port: number; user: string; password: string; database: string;
  table: string; format: Format; max_open_connections: number;
}
export interface KafkaConfig extends CommonConfig {
  brokers: string[]; topic: string; sasl: boolean; sasl_username: string; sasl_password: string;
  sasl_mechanism: 'plain' | 'sha256' | 'sha512'; tls: boolean; tls_skip_verify: boolean; tls_client_auth: number;
  client_tls_cert: string; client_tls_key: string; version: string; batch_size: number; batch_commit_timeout: number;
  compression_codec: string; compression_level: number;
}
export interface WebhookConfig extends CommonConfig {
  endpoint: string; auth_token: string; client_cert: string; client_key: string; timeout_ms: number;
  /** Standard Webhooks secrets (`whsec_...`, space- or comma-separated); empty = requests are not signed. */
  signing_secret: string;
}
export interface MqttConfig extends CommonConfig {
  broker: string; topic: string; username: string; password: string; qos: number;
  keep_alive_interval_ms: number; reconnect_interval_ms: number;
}

export interface TargetConfigByType {
  amqp: AmqpConfig; elasticsearch: ElasticsearchConfig; kafka: KafkaConfig; mqtt: MqttConfig; mysql: MysqlConfig;
  nats: NatsConfig; postgresql: PostgresqlConfig; redis: RedisConfig; webhook: WebhookConfig;
}

export type TargetEntry = {
  [T in TargetType]: { arn: string; type: T; id: string; enabled: boolean; config: TargetConfigByType[T] };
}[TargetType];

const str = (extra: Partial<ParamSpec> = {}): ParamSpec => ({ kind: 'string', ...extra });
const bool = (extra: Partial<ParamSpec> = {}): ParamSpec => ({ kind: 'bool', ...extra });
const int = (extra: Partial<ParamSpec> = {}): ParamSpec => ({ kind: 'int', ...extra });
const secret = (extra: Partial<ParamSpec> = {}): ParamSpec => str({ secret: true, ...extra });
const format = (fallback: Format): ParamSpec => str({ default: fallback, oneOf: ['namespace', 'access'] });

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
};

const sqlConnection = {
  host: str(), port: int(), user: str(), password: secret(), database: str(),
  table: str({ required: true }), max_open_connections: int({ default: 2, aliases: ['maxOpenConnections'], min: 1 }),
};

export const TARGET_PARAMS: { [T in TargetType]: ParamSpecs<TargetConfigByType[T]> } = {
  amqp: {
    ...COMMON_PARAMS,
    url: secret({ required: true }), exchange: str(), exchange_type: str({ aliases: ['exchangeType'] }),
    routing_key: str({ aliases: ['routingKey'] }), mandatory: bool(), immediate: bool(), durable: bool(), internal: bool(),
    no_wait: bool({ aliases: ['noWait'] }), auto_deleted: bool({ aliases: ['autoDeleted'] }),
    delivery_mode: int({ aliases: ['deliveryMode'], oneOf: [0, 1, 2] }), publisher_confirms: bool({ aliases: ['publisherConfirms'] }),
  },
  elasticsearch: {
    ...COMMON_PARAMS,
    url: str({ required: true }), index: str({ required: true }), format: format('access'), username: str(), password: secret(),
  },
  redis: {
    ...COMMON_PARAMS,
    address: str({ required: true }), key: str({ required: true }), format: format('access'), password: secret(), user: str(),
  },
  nats: {
    ...COMMON_PARAMS,
    address: str({ required: true }), subject: str({ required: true }), username: str(), password: secret(), token: secret(),
    tls: bool({ aliases: ['secure'] }), tls_skip_verify: bool({ aliases: ['tlsSkipVerify'] }), cert_authority: str({ aliases: ['certAuthority'] }),
    client_cert: str({ aliases: ['clientCert'] }), client_key: str({ aliases: ['clientKey'] }),
    ping_interval: int({ aliases: ['pingInterval'] }), jetstream: bool(),
  },
  postgresql: {
    ...COMMON_PARAMS, ...sqlConnection,
    connection_string: secret({ aliases: ['connectionString'] }), format: format('namespace'),
  },
  mysql: {
    ...COMMON_PARAMS, ...sqlConnection,
    dsn_string: secret({ aliases: ['dsnString'] }), format: format('namespace'),
  },
  kafka: {
    ...COMMON_PARAMS,
    brokers: { kind: 'list', required: true }, topic: str({ required: true }), sasl: bool(),
    sasl_username: str(), sasl_password: secret(), sasl_mechanism: str({ default: 'plain', oneOf: ['plain', 'sha256', 'sha512'] }),
    tls: bool(), tls_skip_verify: bool(), tls_client_auth: int(), client_tls_cert: str(), client_tls_key: str(), version: str(),
    batch_size: int({ default: 1 }),
    // MinIO writes it as a Go duration ("1s"); normalized to milliseconds like our other durations.
    batch_commit_timeout: { kind: 'duration', default: 0 }, compression_codec: str(), compression_level: int(),
  },
  webhook: {
    ...COMMON_PARAMS,
    endpoint: str({ required: true }), auth_token: secret({ aliases: ['authToken'] }), client_cert: str(), client_key: str(),
    timeout_ms: { kind: 'duration', input: 'timeout', default: 60_000 },
    signing_secret: secret({ aliases: ['signingSecret'], check: signingSecretProblem }),
  },
  mqtt: {
    ...COMMON_PARAMS,
    broker: str({ required: true }), topic: str({ required: true }), username: str(), password: secret(),
    qos: int({ oneOf: [0, 1, 2] }),
    keep_alive_interval_ms: { kind: 'duration', input: 'keep_alive_interval', aliases: ['keepAliveInterval'], default: 10_000 },
    reconnect_interval_ms: { kind: 'duration', input: 'reconnect_interval', aliases: ['reconnectInterval'], default: 5_000 },
  },
};

/** `whsec_<base64>` secrets, several allowed for rotation (see src/webhook-signature.ts). */
function signingSecretProblem(value: string): string | undefined {
  try {
    parseSigningSecrets(value);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
