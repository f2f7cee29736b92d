export * from './env-fields';
export * from './figures';
export * from './mailer';
export * from './money';
export * from './schedule';
export * from './send';
export * from './week';
