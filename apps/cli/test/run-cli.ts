import { captureOutput } from '@mcb/testing';
import { runCli } from '../src/main';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `mcb …` in-process (the real program, real database) and captures what it prints. */
export async function mcb(...argv: string[]): Promise<CliRun> {
  const { result, stdout, stderr } = await captureOutput(() => runCli(argv));
  return { code: result, stdout, stderr };
}
