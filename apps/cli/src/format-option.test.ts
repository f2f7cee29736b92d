import { describe, expect, it } from 'vitest';
import { outputFormats, resolveFormat } from './format-option';

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
