// Runs Debian's /usr/bin/python3 (which has PyTorch) without blocking the test worker: a fixture script can run
// for over a minute on a loaded machine, and behind a spawnSync that long vitest's worker RPC times out
// ("Timeout calling onTaskUpdate"), failing a run whose tests all passed.
import { spawn } from 'node:child_process';

export interface PythonResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runPython(args: readonly string[], timeoutMs?: number): Promise<PythonResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', args, { stdio: ['ignore', 'pipe', 'pipe'], ...(timeoutMs === undefined ? {} : { timeout: timeoutMs }) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}
