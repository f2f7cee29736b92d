import { readFileSync } from 'node:fs';

/** One build stage of a Dockerfile: `FROM <base> AS <name>` and the instructions under it. */
export interface Stage {
  name: string;
  base: string;
  instructions: Array<{ op: string; args: string }>;
}

/**
 * Reads a Dockerfile into its stages (comments dropped, `\` continuations joined). Enough for the
 * static checks of infra/docker/Dockerfile; not a general parser (no heredocs, no escape directive).
 */
export function parseDockerfile(text: string): Stage[] {
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = op.toUpperCase();
    if (upper === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ name: m?.[2] ?? String(stages.length), base: m?.[1] ?? '', instructions: [] });
    } else if (stages.length) stages.at(-1)!.instructions.push({ op: upper, args: args.replace(/\s+/g, ' ') });
  }
  return stages;
}

/** `name` and the stages it is built on, nearest first: [name, parent, grandparent, …]. */
export function lineage(stages: Stage[], name: string): Stage[] {
  const chain: Stage[] = [];
  for (let stage = stages.find((s) => s.name === name); stage; stage = stages.find((s) => s.name === stage!.base)) {
    chain.push(stage);
  }
  return chain;
}

/** The value of `${VAR:-default}`, `${VAR:?message}` and `${VAR}` references in a compose string, given `env`. */
export function interpolate(value: string, env: Record<string, string> = {}): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}/g, (_, name: string, op: string | undefined, rest: string) => {
    if (env[name] !== undefined && env[name] !== '') return env[name]!;
    if (op?.endsWith('-')) return rest;
    if (op?.endsWith('?')) throw new Error(`compose: ${name} is required: ${rest}`);
    return '';
  });
}

/**
 * The Node.js options an app's image starts it with: the arguments between `node` and the script in
 * the CMD of its stage (`CMD ["node", "--max-old-space-size=256", "/app/…/main.js"]` → the flag).
 * Benches start the compiled apps with these, so they measure what production runs.
 */
export function imageNodeArgs(stages: Stage[], app: string): string[] {
  // The stage's own last CMD, else the nearest parent's.
  const cmd = lineage(stages, app)
    .map((s) => s.instructions.filter((i) => i.op === 'CMD').at(-1))
    .find((i) => i !== undefined);
  if (!cmd) throw new Error(`Dockerfile: stage ${app} has no CMD`);
  const argv = JSON.parse(cmd.args) as string[];
  if (argv[0] !== 'node') throw new Error(`Dockerfile: stage ${app} does not start node: ${cmd.args}`);
  return argv.slice(1, -1);
}

/** `imageNodeArgs` read from the repository's infra/docker/Dockerfile. */
export function productionNodeArgs(app: string): string[] {
  const path = new URL('../docker/Dockerfile', import.meta.url);
  return imageNodeArgs(parseDockerfile(readFileSync(path, 'utf8')), app);
}
