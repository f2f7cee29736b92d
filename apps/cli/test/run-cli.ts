import { runCli } from '../src/main';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `mcb …` in-process (the real program, real database) and captures what it prints. */
export async function mcb(...argv: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const write = { out: process.stdout.write, err: process.stderr.write };
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await runCli(argv), stdout, stderr };
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
  }
}
