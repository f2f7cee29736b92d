export * from './config';
export * from './env-fields';
export * from './hash';
export * from './integration';
export * from './map';
export * from './outbox';
export * from './status';
export * from './test-send';
