export * from './apply';
export * from './fields';
export * from './identities';
export * from './plan';
