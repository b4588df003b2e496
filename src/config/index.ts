export * from './arn';
export * from './load';
export { ConfigError, parseDuration } from './params';
export * from './targets';
