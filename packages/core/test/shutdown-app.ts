// An app as every long-running one is built, for shutdown.test.ts: onShutdown with one closer that
// takes argv[2] ms (a job finishing). Prints "ready" once its handlers are installed, "closed" when done.
import pino from 'pino';
import { onShutdown } from '../src/shutdown';

const closeMs = Number(process.argv[2] ?? 1_000);
onShutdown(
  [
    {
      name: 'job',
      close: () =>
        new Promise((resolve) =>
          setTimeout(() => {
            process.stdout.write('closed\n');
            resolve(undefined);
          }, closeMs),
        ),
    },
  ],
  pino({ level: 'silent' }),
  60_000,
);
setInterval(() => {}, 1_000);
process.stdout.write('ready\n');
