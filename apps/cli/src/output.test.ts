import { describe, expect, it } from 'vitest';
import { unsafeIn } from '../test/terminal';
import { printable, printableJson } from './output';
import { formatTable } from './table';

// The body a reviewer stored through a tenant's public webhook URL: clear screen, cursor home, window
// title, a fake green "verified" line, and an OSC 52 clipboard write.
const attack = '\x1b[2J\x1b[H\x1b]0;owned\x07\x1b[32mstatus processed, signature verified\x1b[0m\n\x1b]52;c;AAAA\x07';

describe('printable', () => {
  it('leaves ordinary text alone, any script or emoji included', () => {
    for (const text of ['contact_created', 'Maria López', '東京 🎉 ✓', 'sha256:ab12…', '']) expect(printable(text)).toBe(text);
  });

  it('shows every escape sequence of the reviewer’s body as visible \\u escapes', () => {
    const line = printable(attack);
    expect(line).toBe(
      '\\u001b[2J\\u001b[H\\u001b]0;owned\\u0007\\u001b[32mstatus processed, signature verified\\u001b[0m\\n\\u001b]52;c;AAAA\\u0007',
    );
    expect(unsafeIn(line)).toEqual([]);
    expect(line).not.toContain('\n');
  });

  it('keeps line feeds and tabs only in multi-line output; a carriage return is always escaped', () => {
    expect(printable('a\tb\r\nc', { multiline: true })).toBe('a\tb\\r\nc');
    expect(printable('a\tb\r\nc')).toBe('a\\tb\\r\\nc');
    expect(printable(attack, { multiline: true }).split('\n')).toHaveLength(2);
  });

  it('escapes NUL, every C0 control, DEL and every C1 control (8-bit CSI, OSC, …)', () => {
    const all = [...Array.from({ length: 0x20 }, (_, i) => i), 0x7f, ...Array.from({ length: 0x20 }, (_, i) => 0x80 + i)];
    for (const code of all) {
      const shown = printable(`x${String.fromCharCode(code)}y`);
      expect(unsafeIn(shown), `U+${code.toString(16)}`).toEqual([]);
      expect(shown).toMatch(/^x\\(u[0-9a-f]{4}|n|t|r)y$/);
    }
    expect(printable('\u009b31m')).toBe('\\u009b31m');
    expect(printable('\0')).toBe('\\u0000');
  });

  it('escapes bidi overrides, isolates and marks, so stored text cannot reorder what is printed around it', () => {
    expect(printable('evil\u202Egnp.exe')).toBe('evil\\u202egnp.exe');
    for (const code of [0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]) {
      expect(printable(String.fromCharCode(code))).toBe(`\\u${code.toString(16).padStart(4, '0')}`);
    }
  });

  it('escapes lone surrogates and keeps surrogate pairs', () => {
    expect(printable('a\ud800b')).toBe('a\\ud800b');
    expect(printable('a\udc00b')).toBe('a\\udc00b');
    expect(printable('end\ud83d')).toBe('end\\ud83d');
    expect(printable('😀')).toBe('😀');
  });

  it('is unambiguous: a backslash is doubled, so six characters "\\u001b" sent as text stay distinguishable from an ESC', () => {
    expect(printable('\\u001b')).toBe('\\\\u001b');
    expect(printable('\x1b')).toBe('\\u001b');
    expect(printable('C:\\path')).toBe('C:\\\\path');
    // Already-escaped text (JSON, a rendered document) keeps its backslashes.
    expect(printable('"a\\"b"\u009b', { keepBackslashes: true })).toBe('"a\\"b"\\u009b');
  });
});

describe('printableJson', () => {
  it('is JSON.stringify plus escapes for what it leaves raw (DEL, C1, bidi): valid JSON of the same value', () => {
    const value = {
      body: attack,
      c1: '\u009b2J\u0085',
      del: 'a\u007f',
      bidi: 'x\u202ey',
      lone: 'a\ud800',
      text: 'back\\slash "q"',
      n: [1, null],
    };
    const json = printableJson(value);
    expect(unsafeIn(json)).toEqual([]);
    expect(JSON.parse(json)).toEqual(value);
    expect(json).toContain('"c1": "\\u009b2J\\u0085"');
    expect(json).toContain('"bidi": "x\\u202ey"');
    expect(json).toContain('"text": "back\\\\slash \\"q\\""');
    expect(json.split('\n')[1]).toBe(
      '  "body": "\\u001b[2J\\u001b[H\\u001b]0;owned\\u0007\\u001b[32mstatus processed, signature verified\\u001b[0m\\n\\u001b]52;c;AAAA\\u0007",',
    );
  });

  it('matches JSON.stringify for ordinary values', () => {
    const value = { a: 1, b: ['x', 'ü'], c: { d: null } };
    expect(printableJson(value)).toBe(JSON.stringify(value, null, 2));
    expect(printableJson(value, 0)).toBe(JSON.stringify(value));
  });
});

describe('formatTable', () => {
  it('prints every cell through printable: one line per row, no control character, columns aligned on the escaped text', () => {
    const table = formatTable(
      ['id', 'event type', 'error'],
      [
        ['1', '\x1b[31mred', 'line one\nfake row'],
        ['22', 'ok', '-'],
      ],
    );
    expect(unsafeIn(table)).toEqual([]);
    expect(table.split('\n')).toEqual(['id  event type     error', '1   \\u001b[31mred  line one\\nfake row', '22  ok             -', '']);
  });
});
