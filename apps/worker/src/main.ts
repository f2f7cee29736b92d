import { createLogger, onShutdown } from '@mcb/core';
import { loadWorkerEnv } from './env';
import { startWorkerRuntime } from './runtime';

const env = loadWorkerEnv();
const log = createLogger({ name: 'worker', level: env.LOG_LEVEL });
const runtime = await startWorkerRuntime(env, log);

// SIGTERM/SIGINT: stop fetching, finish or release active jobs within SHUTDOWN_TIMEOUT_MS, then close
// Redis and Postgres (runtime.close keeps that order).
onShutdown([{ name: 'worker', close: () => runtime.close(Date.now() + env.SHUTDOWN_TIMEOUT_MS - 200) }], log, env.SHUTDOWN_TIMEOUT_MS);
