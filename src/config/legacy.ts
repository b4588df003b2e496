// Older MinIO config.json files (the guide's era, config versions up to 33) nest some parameters:
// kafka `tls: {enable, skipVerify, clientAuth}` and `sasl: {enable, username, password, mechanism}`,
// nats `streaming: {...}` and `jetStream: {enable}`. They are flattened to today's names here.
import { ConfigError, isEnabledValue } from './params';
import type { TargetType } from './arn';

type Params = Record<string, unknown>;

const NESTED: Partial<Record<TargetType, Record<string, Record<string, string>>>> = {
  kafka: {
    tls: { enable: 'tls', skipVerify: 'tls_skip_verify', clientAuth: 'tls_client_auth' },
    sasl: { enable: 'sasl', username: 'sasl_username', password: 'sasl_password', mechanism: 'sasl_mechanism' },
  },
  nats: {
    jetStream: { enable: 'jetstream' },
  },
};

export function flattenLegacy(type: TargetType, params: Params, at: string): Params {
  const flat: Params = {};
  for (const [key, value] of Object.entries(params)) {
    if (!isPlainObject(value)) {
      flat[key] = value;
    } else if (type === 'nats' && key === 'streaming') {
      // NATS Streaming (STAN) is end-of-life; only a disabled block is accepted.
      if (isEnabledValue(value.enable))
        throw new ConfigError(`${at}.streaming.enable`, 'NATS Streaming is not supported (use jetstream)');
    } else {
      const names = NESTED[type]?.[key];
      if (!names) throw new ConfigError(`${at}.${key}`, 'expected a value, not an object');
      for (const [inner, innerValue] of Object.entries(value)) {
        if (!names[inner]) throw new ConfigError(`${at}.${key}.${inner}`, 'unknown parameter');
        flat[names[inner]] = innerValue;
      }
    }
  }
  return flat;
}

function isPlainObject(value: unknown): value is Params {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
