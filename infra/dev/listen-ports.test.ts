import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { chooseListenPorts, freePort, listenPorts } from './services';

const held: Server[] = [];
afterEach(async () => {
  await Promise.all(held.splice(0).map((s) => new Promise((r) => s.close(r))));
});
/** Listens on a free port of 127.0.0.1 and returns it (held until the test ends). */
async function hold(): Promise<number> {
  const srv = createServer();
  held.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return (srv.address() as { port: number }).port;
}

describe('chooseListenPorts (npm start)', () => {
  it('keeps a port that is set and chooses distinct ports for the rest', async () => {
    const env: NodeJS.ProcessEnv = { PORT: '4567' };
    await chooseListenPorts(env);
    expect(env.PORT).toBe('4567');
    const ports = listenPorts.map(([key]) => Number(env[key]));
    expect(new Set(ports).size).toBe(listenPorts.length);
    for (const port of ports) expect(port).toBeGreaterThan(0);
  });

  it('reads a port of 0 as "any free one" and names the port chosen (it waited for port 0 before)', async () => {
    const env: NodeJS.ProcessEnv = { PORT: '0', METRICS_PORT: ' 0 ' };
    await chooseListenPorts(env);
    for (const key of ['PORT', 'METRICS_PORT']) {
      expect(Number(env[key])).toBeGreaterThan(0);
      // Free: an app can listen on it.
      const srv = createServer();
      held.push(srv);
      await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(Number(env[key]), '127.0.0.1', resolve));
    }
    expect(env.PORT).not.toBe(env.METRICS_PORT);
  });

  // Walk of the README, stop 34: PORT=abc was named by the receiver once Postgres and Redis had started.
  it('refuses a value that is no port before anything starts', async () => {
    await expect(chooseListenPorts({ PORT: 'abc' })).rejects.toThrow(
      'PORT "abc" is not a port number: set it to 1–65535 (0 or unset: a free one)',
    );
    await expect(chooseListenPorts({ CONSOLE_PORT: '30.01' })).rejects.toThrow(/^CONSOLE_PORT "30.01" is not a port number/);
    await expect(chooseListenPorts({ METRICS_PORT: '70000' })).rejects.toThrow('METRICS_PORT 70000 is past 65535, the last port');
  });

  it('never hands out a port that is set for another listener', async () => {
    const set = await freePort();
    const env: NodeJS.ProcessEnv = { CONSOLE_PORT: String(set) };
    await chooseListenPorts(env);
    const others = listenPorts.filter(([key]) => key !== 'CONSOLE_PORT').map(([key]) => env[key]);
    expect(others).not.toContain(String(set));
    expect(env.CONSOLE_PORT).toBe(String(set));
  });

  it('refuses a port that is set and in use, naming it (the app failed to listen, five times over)', async () => {
    const busy = await hold();
    await expect(chooseListenPorts({ PORT: String(busy) })).rejects.toThrow(
      `PORT ${busy} is in use on 127.0.0.1: choose another, or unset PORT and npm start picks a free one`,
    );
  });

  // Operator walk, stop 33: PORT=3500 CONSOLE_PORT=3500 said "MCB is ready." (the console answered the
  // receiver's ready check), then the receiver failed to listen over and over.
  // Operator walk, stop 33: HOST=999.1.1.1 made every app fail to listen and be restarted for ~28 s.
  it('refuses a HOST nothing can listen on, naming it', async () => {
    await expect(chooseListenPorts({ HOST: '999.1.1.1' })).rejects.toThrow(
      /^HOST 999\.1\.1\.1 cannot be listened on here \(E[A-Z_]+\): use an address of this machine \(127\.0\.0\.1, or 0\.0\.0\.0 for every interface\), or unset HOST$/,
    );
    await expect(chooseListenPorts({ HOST: '10.255.255.254' })).rejects.toThrow(
      /^HOST 10\.255\.255\.254 cannot be listened on here \(EADDRNOTAVAIL\)/,
    );
    const env: NodeJS.ProcessEnv = { HOST: '127.0.0.1' };
    await chooseListenPorts(env);
    expect(Number(env.PORT)).toBeGreaterThan(0);
  });

  it('refuses two listeners set to one port, naming both', async () => {
    const port = await freePort();
    await expect(chooseListenPorts({ PORT: String(port), CONSOLE_PORT: String(port) })).rejects.toThrow(
      `PORT and CONSOLE_PORT are both ${port}: each listener needs a port of its own (unset CONSOLE_PORT and npm start picks a free one)`,
    );
  });
});
