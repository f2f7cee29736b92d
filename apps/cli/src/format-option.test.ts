import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { outputFormats, resolveFormat } from './format-option';

const root = fileURLToPath(new URL('../../..', import.meta.url));

describe('resolveFormat (--format and its alias --json)', () => {
  it('--json is --format json; neither is the fallback', () => {
    expect(resolveFormat({ json: true }, outputFormats, 'text')).toBe('json');
    expect(resolveFormat({ format: 'json' }, outputFormats, 'text')).toBe('json');
    expect(resolveFormat({ format: 'json', json: true }, outputFormats, 'text')).toBe('json');
    expect(resolveFormat({}, outputFormats, 'text')).toBe('text');
    expect(resolveFormat({}, ['html', 'text', 'json'] as const, 'html')).toBe('html');
  });

  it('refuses a format the command does not print, and --json with another --format, naming what is allowed', () => {
    expect(() => resolveFormat({ format: 'yaml' }, outputFormats, 'text')).toThrow('Invalid --format: yaml (text or json)');
    expect(() => resolveFormat({ format: 'pdf' }, ['html', 'text', 'json'] as const, 'html')).toThrow(
      'Invalid --format: pdf (html, text or json)',
    );
    expect(() => resolveFormat({ format: 'text', json: true }, outputFormats, 'text')).toThrow(
      'Invalid --format: text with --json (--json is --format json)',
    );
  });
});

describe('the JSON outputs as the README tells scripts to call them', () => {
  // `npm run mcb` prints npm's "> mcb" banner on stdout before the CLI runs: only `npm run -s mcb` leaves
  // stdout the one JSON document (new-operator walk: `npm run mcb -- tenant list --json | jq` failed).
  const docs = ['README.md', ...readdirSync(join(root, 'docs', 'adr')).map((f) => join('docs', 'adr', f))].map((path) => ({
    path,
    text: readFileSync(join(root, path), 'utf8'),
  }));

  it('says to call npm run -s mcb for JSON, and shows no JSON call without -s', () => {
    const readme = docs.find((d) => d.path === 'README.md')?.text ?? '';
    expect(readme).toMatch(/`npm run -s mcb -- [^`]*--json[^`]*`/);
    const unsilenced = docs.flatMap(({ path, text }) =>
      [...text.matchAll(/`[^`]*npm run mcb[^`]*(--json|--format json)[^`]*`/g)].map((m) => `${path}: ${m[0]}`),
    );
    expect(unsilenced).toEqual([]);
  });
});
