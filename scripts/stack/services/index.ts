// Every service of the stack, in the order the status table lists them.
import type { Service } from '../service';
import { elasticsearch } from './elasticsearch';
import { kafka } from './kafka';
import { mariadb } from './mariadb';
import { minio } from './minio';
import { mosquitto } from './mosquitto';
import { nats } from './nats';
import { postgres } from './postgres';
import { rabbitmq } from './rabbitmq';
import { redis } from './redis';
import { s3proxy } from './s3proxy';
import { seaweedfs } from './seaweedfs';
import { temporal } from './temporal';
import { temporalCluster } from './temporal-cluster';
import { temporalTls } from './temporal-tls';
import { versitygw } from './versitygw';

export const services: Service[] = [
  temporal,
  temporalTls,
  postgres,
  mariadb,
  redis,
  rabbitmq,
  nats,
  mosquitto,
  kafka,
  elasticsearch,
  temporalCluster,
  minio,
  seaweedfs,
  versitygw,
  s3proxy,
];

/** Names that stand for several services: `up s3` = `up minio seaweedfs versitygw s3proxy`. */
export const serviceGroups: Record<string, Service[]> = { s3: [minio, seaweedfs, versitygw, s3proxy] };

/** The named services (a group's name stands for its services), or all; unknown names are an error naming them. */
export function selectServices(givenNames: string[]): Service[] {
  if (givenNames.length === 0) return services;
  const names = givenNames.flatMap((name) => serviceGroups[name]?.map((service) => service.name) ?? [name]);
  const unknown = names.filter((name) => !services.some((service) => service.name === name));
  if (unknown.length > 0) {
    throw new Error(
      `unknown service ${unknown.join(', ')} (known: ${[...services.map((s) => s.name), ...Object.keys(serviceGroups)].join(', ')})`,
    );
  }
  return services.filter((service) => names.includes(service.name));
}

/** What `up` starts: the named services and those they require, or, without names, all but the opt-in ones. */
export function servicesToStart(names: string[]): Service[] {
  if (names.length === 0) return services.filter((service) => !service.optIn);
  const named = selectServices(names);
  const required = new Set(named.flatMap((service) => [service, ...(service.requires ?? [])]));
  return services.filter((service) => required.has(service));
}
