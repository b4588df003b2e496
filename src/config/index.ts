export * from './arn';
export * from './connection-strings';
export * from './load';
export * from './redact';
export { ConfigError, parseDuration } from './params';
export * from './targets';
export * from './retry';
