/**
 * Terminal-safe output. Much of what the CLI prints was written by whoever sent a webhook (bodies,
 * event types, dedupe keys, header values, error messages quoting a payload, names, ids): anyone who
 * knows a tenant's webhook URL can store bytes that a terminal would obey — clear the screen, move the
 * cursor, set the window title, write the clipboard (OSC 52), or reorder text (bidi overrides). Every
 * such value goes through `printable` (or `printableJson`) before it reaches stdout or stderr.
 */

export interface PrintableOptions {
  /** Keep line feeds and tabs (a body, a JSON document): the output may span lines. Default: one line, `\n` and `\t` escaped. */
  multiline?: boolean;
  /**
   * Leave backslashes as they are: for text that is already JSON-escaped (see `printableJson`) or a
   * rendered document. Default: a backslash is doubled, so `\u001b` in the output always stands for an
   * escaped ESC, never for those six characters sent as text.
   */
  keepBackslashes?: boolean;
}

const hex4 = (code: number) => `\\u${code.toString(16).padStart(4, '0')}`;
const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;

/**
 * The escape for one UTF-16 code unit, or null to print it as it is. Escaped: C0 controls (U+0000–
 * U+001F; line feed and tab kept in multi-line text), DEL (U+007F), C1 controls (U+0080–U+009F: 8-bit
 * CSI, OSC, …), the Unicode bidi controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), and a
 * backslash unless `keepBackslashes`. Lone surrogates are handled by the caller.
 */
function escapeOf(code: number, options: PrintableOptions): string | null {
  if (code === 0x5c) return options.keepBackslashes ? null : '\\\\';
  if (code === 0x0a) return options.multiline ? null : '\\n';
  if (code === 0x09) return options.multiline ? null : '\\t';
  if (code === 0x0d) return '\\r';
  if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return hex4(code);
  if (code === 0x061c || code === 0x200e || code === 0x200f) return hex4(code);
  if ((code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069)) return hex4(code);
  return null;
}

/** Does any code unit need an escape? (The fast path: most text needs none.) */
function needsEscape(text: string, options: PrintableOptions): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (isHighSurrogate(code) || isLowSurrogate(code) || escapeOf(code, options) !== null) return true;
  }
  return false;
}

/**
 * `text` as a terminal shows it literally: every control character (C0, DEL, C1), bidi control and
 * lone surrogate written as a visible escape (`\u001b`, `\u009b`, `\u202e`, `\ud800`; `\r`, and `\n`,
 * `\t` unless multi-line), and — unless `keepBackslashes` — backslashes doubled, so the escapes are
 * unambiguous. Printable text, including any other Unicode (emoji, accents, CJK), is unchanged.
 */
export function printable(text: string, options: PrintableOptions = {}): string {
  if (!needsEscape(text, options)) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (isHighSurrogate(code)) {
      const next = text.charCodeAt(i + 1);
      if (isLowSurrogate(next)) {
        out += text.slice(i, i + 2);
        i += 1;
      } else {
        out += hex4(code);
      }
      continue;
    }
    if (isLowSurrogate(code)) {
      out += hex4(code);
      continue;
    }
    out += escapeOf(code, options) ?? text[i];
  }
  return out;
}

/**
 * `value` as indented JSON, terminal-safe. JSON.stringify already escapes C0 controls and lone
 * surrogates inside strings; this also escapes what it leaves raw (DEL, C1 controls, bidi controls) as
 * `\uXXXX` — still valid JSON, parsing to the same value.
 */
export function printableJson(value: unknown, indent = 2): string {
  return printable(JSON.stringify(value, null, indent) ?? 'undefined', { multiline: true, keepBackslashes: true });
}
