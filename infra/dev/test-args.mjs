// What `npm test -- <args>` hands vitest (both projects, through turbo). Plain Node: bootstrap.mjs
// imports it before anything is installed.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The repository's test files, relative to `root` (what vitest's projects include). */
export function testFiles(root) {
  const out = [];
  const walk = (dir) => {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      const path = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(path);
      else if (/\.test\.tsx?$/.test(e.name)) out.push(path);
    }
  };
  for (const top of ['apps', 'packages', 'infra']) walk(top);
  return out;
}

/**
 * The arguments for both test projects, and the filters that match no test file. A path or filter
 * names files of one project or both (`x.test.ts` is unit, `x.int.test.ts` integration), so a project
 * finding none of them is allowed (`--passWithNoTests`) — once every filter is known to match a test
 * file: `npm test -- path/to/x.test.ts` exited 1 (the integration project found no files in it), and a
 * mistyped path must still fail.
 */
export function vitestTestArgs(root, args) {
  const filters = args.filter((a) => !a.startsWith('-'));
  const files = filters.length ? testFiles(root) : [];
  const relative = (f) => (f.startsWith(`${root}/`) ? f.slice(root.length + 1) : f.replace(/^\.\//, ''));
  const unmatched = filters.filter((f) => !files.some((file) => file.includes(relative(f))));
  return { vitestArgs: filters.length ? [...args, '--passWithNoTests'] : [...args], unmatched };
}
