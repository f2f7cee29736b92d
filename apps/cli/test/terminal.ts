/**
 * Code units a terminal would act on, written independently of the CLI's `printable`: C0 controls but
 * line feed (and tab where `tabs`), DEL, C1 controls, bidi controls, lone surrogates. The oracle of the
 * escape tests (output.test.ts, escapes.int.test.ts).
 */
export function unsafeIn(text: string, tabs = false): string[] {
  const bidi = [0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069];
  const found: string[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && text.charCodeAt(i + 1) >= 0xdc00 && text.charCodeAt(i + 1) <= 0xdfff) {
      i += 1;
      continue;
    }
    const control = (c < 0x20 && c !== 0x0a && !(tabs && c === 0x09)) || (c >= 0x7f && c <= 0x9f);
    if (control || bidi.includes(c) || (c >= 0xd800 && c <= 0xdfff)) found.push(`U+${c.toString(16).padStart(4, '0')}`);
  }
  return found;
}
