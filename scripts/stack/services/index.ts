// Every service of the stack, in the order the status table lists them.
import type { Service } from '../service';
import { elasticsearch } from './elasticsearch';
import { kafka } from './kafka';
import { mariadb } from './mariadb';
import { mosquitto } from './mosquitto';
import { nats } from './nats';
import { postgres } from './postgres';
import { rabbitmq } from './rabbitmq';
import { redis } from './redis';
import { temporal } from './temporal';
import { temporalCluster } from './temporal-cluster';
import { temporalTls } from './temporal-tls';

export const services: Service[] = [temporal, temporalTls, postgres, mariadb, redis, rabbitmq, nats, mosquitto, kafka, elasticsearch,
  temporalCluster];

/** The named services, or all; unknown names are an error naming them. */
export function selectServices(names: string[]): Service[] {
  if (names.length === 0) return services;
  const unknown = names.filter((name) => !services.some((service) => service.name === name));
  if (unknown.length > 0) {
    throw new Error(`unknown service ${unknown.join(', ')} (known: ${services.map((s) => s.name).join(', ')})`);
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
