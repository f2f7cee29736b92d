export * from './data';
export * from './server';
