export * from './context';
export * from './services';
