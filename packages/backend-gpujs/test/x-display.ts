// vitest globalSetup: gives the test run an X display for headless-gl. When DISPLAY is already set it is
// used as is; otherwise an Xvfb server is started on a free display number (the forked test workers inherit
// DISPLAY) and stopped after the run. Without an Xvfb binary nothing starts and the gpujs suites skip with
// the backend's reason ("no X display").
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const XVFB_PATHS = ['/usr/bin/Xvfb', '/usr/local/bin/Xvfb'];
let server: ChildProcess | null = null;

function freeDisplay(): number | null {
  for (let n = 90; n < 190; n++) {
    if (!existsSync(`/tmp/.X11-unix/X${n}`) && !existsSync(`/tmp/.X${n}-lock`)) return n;
  }
  return null;
}

async function waitFor(path: string, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (existsSync(path)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

export async function setup(): Promise<void> {
  if (process.env.DISPLAY) return;
  const xvfb = XVFB_PATHS.find((p) => existsSync(p));
  if (!xvfb) {
    console.log('gpujs: no Xvfb binary found (apt-get install xvfb); the gpujs suites will skip');
    return;
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const n = freeDisplay();
    if (n === null) break;
    const child = spawn(xvfb, [`:${n}`, '-screen', '0', '1024x768x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
    const exited = new Promise<boolean>((r) => child.once('exit', () => r(false)));
    const up = await Promise.race([waitFor(`/tmp/.X11-unix/X${n}`, 10_000), exited]);
    if (up) {
      server = child;
      process.env.DISPLAY = `:${n}`;
      return;
    }
    child.kill();
  }
  console.log('gpujs: Xvfb did not start; the gpujs suites will skip');
}

export async function teardown(): Promise<void> {
  if (server?.pid !== undefined) server.kill();
  server = null;
}
