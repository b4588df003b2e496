export * from './identity';
export * from './names';
export * from './parse';
export * from './record';
export type * from './types';
export * from './sources';
export * from './cloudevents';
