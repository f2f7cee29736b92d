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
