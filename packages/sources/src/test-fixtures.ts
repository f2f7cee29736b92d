import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Source } from './domain';

const root = fileURLToPath(new URL('.', import.meta.url));

/** Test helper: parsed JSON of `src/<source>/fixtures/<name>.json`. */
export function readFixture(source: Source, name: string): unknown {
  return JSON.parse(readFileSync(`${root}${source}/fixtures/${name}.json`, 'utf8'));
}

/** Test helper: every fixture of a source, by name. */
export function listFixtures(source: Source): Array<{ name: string; payload: unknown }> {
  return readdirSync(`${root}${source}/fixtures`)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({ name: file.replace(/\.json$/, ''), payload: readFixture(source, file.replace(/\.json$/, '')) }));
}
