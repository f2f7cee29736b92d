import type { z } from 'zod';
import { productionEnvProblem } from './env-fields';

/**
 * Parses `source` (normally `process.env`) with `schema`. On failure prints one line naming
 * the bad or missing variable (`exitOnEnvError` then exits `configErrorExitCode`) — each app's env.ts calls this at boot.
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  source: Record<string, string | undefined> = process.env,
  app = 'mcb',
): z.infer<S> {
  const result = schema.safeParse(source);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const name = issue?.path.join('.') || 'env';
  const message = issue?.message ?? 'invalid';
  const unset = issue?.path.length === 1 && source[name] === undefined;
  const err = new Error(unset ? `${app}: ${name} is not set` : `${app}: invalid environment variable ${name}: ${message}`);
  (err as Error & { envVariable?: string }).envVariable = name;
  throw err;
}

/**
 * `parseEnv` for a long-running app (receiver, worker, console), which must also meet
 * `productionEnvProblem`. The CLI parses with `parseEnv` alone: `db migrate` needs no Redis.
 */
export function parseAppEnv<S extends z.ZodType>(schema: S, source: Record<string, string | undefined>, app: string): z.infer<S> {
  const data = parseEnv(schema, source, app);
  const problem = productionEnvProblem(data as Record<string, unknown>, source);
  if (!problem) return data;
  const err = new Error(`${app}: ${problem.message}`);
  (err as Error & { envVariable?: string }).envVariable = problem.variable;
  throw err;
}

/**
 * The exit status of an app that refused its configuration (`EX_CONFIG` of sysexits.h): a supervisor
 * (`npm start`) does not restart it, since the same configuration would fail the same way.
 */
export const configErrorExitCode = 78;

/** Runs `fn`, printing an env error as one line and exiting `configErrorExitCode` (for app entry points). */
export function exitOnEnvError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof Error && 'envVariable' in err) {
      process.stderr.write(`${err.message}\n`);
      process.exit(configErrorExitCode);
    }
    throw err;
  }
}
