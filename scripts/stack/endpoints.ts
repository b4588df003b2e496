// Where the stack's services listen (all on loopback). Tests and the benchmark read these; each can be
// pointed elsewhere with the env var named beside it.
const env = process.env;

export const endpoints = {
  temporal: env.TEMPORAL_ADDRESS || '127.0.0.1:7233',
  temporalUi: env.BUCKETFLOW_TEMPORAL_UI || 'http://127.0.0.1:8233',
  // nginx terminating TLS in front of the dev server (scripts/stack/services/temporal-tls.ts): TLS, mutual TLS
  // (a client certificate signed by the stack's CA required), TLS with an API key the proxy checks.
  temporalTls: env.BUCKETFLOW_TEST_TEMPORAL_TLS_ADDRESS || '127.0.0.1:7243',
  temporalMtls: env.BUCKETFLOW_TEST_TEMPORAL_MTLS_ADDRESS || '127.0.0.1:7244',
  temporalApiKey: env.BUCKETFLOW_TEST_TEMPORAL_API_KEY_ADDRESS || '127.0.0.1:7245',
  // The opt-in self-hosted cluster (scripts/stack/services/temporal-cluster.ts): its frontend's gRPC port.
  temporalCluster: env.BUCKETFLOW_TEST_TEMPORAL_CLUSTER_ADDRESS || '127.0.0.1:7333',
  postgres: env.BUCKETFLOW_TEST_POSTGRES_URL || 'postgres://bucketflow:bucketflow@127.0.0.1:5432/bucketflow',
  mysql: env.BUCKETFLOW_TEST_MYSQL_URL || 'mysql://bucketflow:bucketflow@127.0.0.1:3306/bucketflow',
  redis: env.BUCKETFLOW_TEST_REDIS_ADDRESS || '127.0.0.1:6379',
  amqp: env.BUCKETFLOW_TEST_AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672',
  nats: env.BUCKETFLOW_TEST_NATS_ADDRESS || '127.0.0.1:4222',
  mqtt: env.BUCKETFLOW_TEST_MQTT_URL || 'tcp://127.0.0.1:1883',
  kafka: env.BUCKETFLOW_TEST_KAFKA_BROKER || '127.0.0.1:9092',
  elasticsearch: env.BUCKETFLOW_TEST_ELASTICSEARCH_URL || 'http://127.0.0.1:9200',
  // The opt-in S3 servers (`npm run stack -- up s3`: minio seaweedfs versitygw s3proxy), each with the stack's access
  // key and
  // secret in its URL, as for the databases above (scripts/stack/s3.ts splits them off; never printed).
  minio: env.BUCKETFLOW_TEST_MINIO_URL || 'http://bucketflow:bucketflow-secret@127.0.0.1:9000',
  minioConsole: env.BUCKETFLOW_TEST_MINIO_CONSOLE_URL || 'http://127.0.0.1:9001',
  seaweedfs: env.BUCKETFLOW_TEST_SEAWEEDFS_URL || 'http://bucketflow:bucketflow-secret@127.0.0.1:9010',
  versitygw: env.BUCKETFLOW_TEST_VERSITYGW_URL || 'http://bucketflow:bucketflow-secret@127.0.0.1:9020',
  s3proxy: env.BUCKETFLOW_TEST_S3PROXY_URL || 'http://bucketflow:bucketflow-secret@127.0.0.1:9030',
} as const;

/** The stack's MariaDB as MinIO's `dsn_string` (Go's `user:password@tcp(host:port)/database`). */
export function mysqlDsn(): string {
  const url = new URL(endpoints.mysql);
  return `${url.username}:${url.password}@tcp(${url.host})${url.pathname}`;
}
