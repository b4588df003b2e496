// Single-node Kafka in KRaft mode (broker and controller in one JVM) from Maven Central jars, run as
// kafka.Kafka with a generated server.properties; storage formatted once under .stack/kafka/data.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { runCommand } from '../command';
import { endpoints } from '../endpoints';
import { copyDependencies, javaHome } from '../maven';
import { serviceDir } from '../paths';
import type { Service } from '../service';

export const KAFKA_VERSION = '3.9.1';
const CONTROLLER_PORT = 9093;
const [host, port] = endpoints.kafka.split(':');
const dir = (...rest: string[]) => serviceDir('kafka', ...rest);
const libs = dir('libs');
const classpath = `${libs}/*`;

function serverProperties(): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${host}:${CONTROLLER_PORT}`,
    `listeners=PLAINTEXT://${host}:${port},CONTROLLER://${host}:${CONTROLLER_PORT}`,
    `advertised.listeners=PLAINTEXT://${host}:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${dir('data')}`,
    'num.partitions=1',
    'auto.create.topics.enable=true',
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    '',
  ].join('\n');
}

const LOG4J = [
  'log4j.rootLogger=WARN, stdout',
  'log4j.logger.kafka.server.KafkaServer=INFO',
  'log4j.logger.kafka.server.KafkaRaftServer=INFO',
  'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
  'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
  '',
].join('\n');

/** KRaft needs one cluster id for the life of the data dir: made once, kept beside it. */
function clusterId(): string {
  const file = dir('cluster.id');
  if (!existsSync(file)) writeFileSync(file, randomBytes(16).toString('base64url'));
  return readFileSync(file, 'utf8').trim();
}

function java(): string {
  return path.join(javaHome(), 'bin', 'java');
}

export const kafka: Service = {
  name: 'kafka',
  endpoint: endpoints.kafka,
  startTimeoutMs: 120_000,

  async install() {
    if (existsSync(path.join(libs, `kafka_2.13-${KAFKA_VERSION}.jar`))) return;
    await copyDependencies(libs, [
      { groupId: 'org.apache.kafka', artifactId: 'kafka_2.13', version: KAFKA_VERSION },
      // kafka_2.13's pom names the slf4j API only; this binds it to log4j so the broker logs.
      { groupId: 'org.slf4j', artifactId: 'slf4j-reload4j', version: '1.7.36' },
    ]);
  },

  async prepare(runAs) {
    const properties = dir('server.properties');
    writeFileSync(properties, serverProperties());
    writeFileSync(dir('log4j.properties'), LOG4J);
    const log4j = `-Dlog4j.configuration=file:${dir('log4j.properties')}`;
    if (!existsSync(path.join(dir('data'), 'meta.properties'))) {
      await runCommand(
        java(),
        [log4j, '-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId(), '-c', properties],
        { uid: runAs?.uid, gid: runAs?.gid },
      );
    }
    return {
      command: java(),
      args: [
        '-Xms256m',
        '-Xmx768m',
        '-XX:+UseG1GC',
        '-Djava.awt.headless=true',
        log4j,
        `-Dkafka.logs.dir=${dir('logs')}`,
        '-cp',
        classpath,
        'kafka.Kafka',
        properties,
      ],
    };
  },

  async probe() {
    const admin = new Kafka({
      brokers: [endpoints.kafka],
      clientId: 'bucketflow-stack',
      connectionTimeout: 3_000,
      requestTimeout: 5_000,
      retry: { retries: 0 },
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length === 0) throw new Error('kafka: no broker registered yet');
      return `Kafka ${KAFKA_VERSION} KRaft (cluster ${cluster.clusterId})`;
    } finally {
      await admin.disconnect();
    }
  },
};
