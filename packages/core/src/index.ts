export * from './env';
export * from './env-fields';
export * from './errors';
export * from './logger';
export * from './rate-limit';
export * from './rate-limited-log';
export * from './redact';
export * from './shutdown';
