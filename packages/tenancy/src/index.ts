export * from './config';
export * from './context-types';
export * from './crypto';
export * from './demo';
