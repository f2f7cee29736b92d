#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { McbError } from '@mcb/core';
import { Command, CommanderError } from 'commander';
import { registerCapiCommands } from './commands/capi';
import { registerContactCommands } from './commands/contact';
import { registerDbCommands } from './commands/db';
import { registerIntegrationCommands } from './commands/integration';
import { registerKeysCommands } from './commands/keys';
import { registerLogsCommands } from './commands/logs';
import { registerMetaCommands } from './commands/meta';
import { registerQueuesCommands } from './commands/queues';
import { registerReplayCommands } from './commands/replay';
import { registerReportCommands } from './commands/report';
import { registerSeedCommands } from './commands/seed';
import { registerStatsCommands } from './commands/stats';
import { registerTenantCommands } from './commands/tenant';
import { registerUrlsCommands } from './commands/urls';
import { printable } from './output';
import { describeUnreachable } from './unreachable';

/** Builds the `mcb` program. Each command group lives in `commands/<group>.ts`. */
export function buildProgram(): Command {
  const program = new Command('mcb')
    .description('MCB operator CLI: tenants, integrations, logs, replay, reports, Meta sync')
    .showHelpAfterError()
    .exitOverride();
  registerDbCommands(program);
  registerSeedCommands(program);
  registerTenantCommands(program);
  registerIntegrationCommands(program);
  registerUrlsCommands(program);
  registerKeysCommands(program);
  registerMetaCommands(program);
  registerCapiCommands(program);
  registerLogsCommands(program);
  registerReplayCommands(program);
  registerQueuesCommands(program);
  registerStatsCommands(program);
  registerReportCommands(program);
  registerContactCommands(program);
  return program;
}

/**
 * Runs the CLI; errors become one clear line on stderr and a non-zero exit. The line goes through
 * `printable`: messages quote stored data and arguments (an error text from a payload, an identifier),
 * and a newline or escape sequence in one must neither split the line nor reach the terminal.
 */
export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    const unreachable = describeUnreachable(err, process.env);
    const message = unreachable ?? (err instanceof McbError || err instanceof Error ? err.message : String(err));
    // Every command's "Unknown tenant: x" passes here: say where the tenants (and their slugs) are listed.
    const hint = err instanceof McbError && err.code === 'unknown_tenant' ? '; see mcb tenant list' : '';
    process.stderr.write(`${printable(`${message}${hint}`)}\n`);
    return 1;
  }
}

// Run as a program (not imported by a test): compared as URLs, so a path with spaces or a symlink still matches.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  // `mcb … | head`: the reader has gone, so stop quietly as other Unix tools do, not with an EPIPE stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(0);
  });
  process.exitCode = await runCli(process.argv.slice(2));
}
