import { McbError } from '@mcb/core';
import type { Command } from 'commander';

/** What a command with a machine-readable output is given: `--format <format>` and/or `--json`. */
export interface FormatFlags {
  format?: string;
  json?: boolean;
}

/** `a`, `a or b`, `a, b or c`. */
const oneOf = (values: readonly string[]) =>
  values.length <= 1 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values.at(-1)}`;

/**
 * Adds the output options of every command that can print JSON: `--format <format>` is the canonical
 * form (SPEC §8 names `mcb report preview --format json`), `--json` its alias for `--format json`, so
 * either works on each of them. `describe` says what each format prints; the default is named in the help.
 */
export function addFormatOptions(command: Command, formats: readonly string[], fallback: string, describe: string): Command {
  return command
    .option('--format <format>', `${describe} (${oneOf(formats)}; default ${fallback})`)
    .option('--json', 'same as --format json');
}

/**
 * The format to print in: `--json` means `json`, else `--format`, else `fallback`. Refuses (one line,
 * `bad_request`) a format the command does not print and `--json` with another `--format`.
 */
export function resolveFormat<F extends string>(flags: FormatFlags, formats: readonly F[], fallback: F): F {
  if (flags.json && flags.format !== undefined && flags.format !== 'json')
    throw new McbError('bad_request', `Invalid --format: ${flags.format} with --json (--json is --format json)`);
  const format = flags.json ? 'json' : (flags.format ?? fallback);
  if (!formats.includes(format as F)) throw new McbError('bad_request', `Invalid --format: ${format} (${oneOf(formats)})`);
  return format as F;
}

/** The formats of a command whose default output is for reading (a table, labelled lines). */
export const outputFormats = ['text', 'json'] as const;
