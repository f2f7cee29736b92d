// The processes of the benches: starting a helper server in a process of its own, and what the benches
// read of other processes from /proc (Linux): CPU and memory figures that do not depend on the rest of
// the load on this shared machine. Not a bench itself.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

export { freeLoopbackPort as freePort } from '../../packages/testing/src/ports';

/**
 * Starts `script` (a file of infra/bench) with tsx in a process of its own — so that its CPU is not
 * the measured code's — and waits for the `{"url": …}` line it prints once listening. The process
 * exits when its parent closes its stdin (or is killed).
 */
export async function startServerProcess(
  script: string,
  args: string[],
  stderr: 'pipe' | 'inherit' = 'inherit',
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL(script, import.meta.url).pathname, ...args], {
    stdio: ['pipe', 'pipe', stderr],
  });
  const [firstLine] = (await once(createInterface({ input: child.stdout as NodeJS.ReadableStream }), 'line')) as [string];
  return { url: (JSON.parse(firstLine) as { url: string }).url, child };
}

/** CPU seconds (user + system) a process has used so far; 0 once it is gone. USER_HZ is 100 on Linux. */
export function cpuSeconds(pid: number | undefined): number {
  const { user, system } = cpuSplit(pid);
  return user + system;
}

/** CPU seconds a process has used so far in user space and in the kernel (its syscalls: sockets, files); 0 once it is gone. */
export function cpuSplit(pid: number | undefined): { user: number; system: number } {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
  } catch {
    return { user: 0, system: 0 };
  }
}

/** Redis server CPU seconds so far (INFO cpu; the whole server, so other users of it count too). */
export function redisCpuSeconds(redisUrl: string): number {
  const info = execFileSync('redis-cli', ['-u', redisUrl, 'info', 'cpu'], { encoding: 'utf8' });
  const get = (k: string) => Number(new RegExp(`${k}:([0-9.]+)`).exec(info)?.[1] ?? 0);
  return get('used_cpu_user') + get('used_cpu_sys');
}

/** Resident set of a process now (`VmRSS`), MB; 0 once it is gone. */
export function rssMb(pid: number | undefined): number {
  return statusKb(pid, 'VmRSS') / 1024;
}

/** Peak resident set of a process so far (`VmHWM`), MB; 0 once it is gone. */
export function peakRssMb(pid: number | undefined): number {
  return statusKb(pid, 'VmHWM') / 1024;
}

function statusKb(pid: number | undefined, field: string): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

type RedisClient = {
  scanStream: (o: { match: string; count: number }) => AsyncIterable<string[]>;
  unlink: (...keys: string[]) => Promise<number>;
  quit: () => Promise<unknown>;
};
const Redis = createRequire(new URL('../../packages/queue/package.json', import.meta.url))('ioredis') as new (url: string) => RedisClient;

/**
 * Deletes every key of a bench's queue prefix (`<prefix>:*`): its jobs, completed ones included, would
 * otherwise stay in the shared Redis after the run (a process bench left ~50,000 keys). Returns how many.
 */
export async function deleteQueuePrefix(redisUrl: string, prefix: string): Promise<number> {
  const client = new Redis(redisUrl);
  let deleted = 0;
  try {
    for await (const keys of client.scanStream({ match: `${prefix}:*`, count: 1_000 })) {
      if (keys.length > 0) deleted += await client.unlink(...keys);
    }
  } finally {
    await client.quit();
  }
  return deleted;
}
