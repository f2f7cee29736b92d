export * from './dedupe';
export * from './types';
export * from './verify/index';
