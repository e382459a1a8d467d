// A long-lived /usr/bin/python3 (which has PyTorch) spoken to line by line, without blocking the test worker: a
// fixture can take many seconds on a loaded machine, and behind a spawnSync that long vitest's worker RPC times
// out. The fixture script answers one JSON line per request.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';

/** Why PyTorch comparisons cannot run here, or null when /usr/bin/python3 imports torch and torchvision. */
export function torchUnavailable(): string | null {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  if (probe.status === 0) return null;
  const why = (probe.stderr || String(probe.error)).trim().split('\n').at(-1);
  return `PyTorch comparison skipped: /usr/bin/python3 cannot import torch and torchvision (${why}); install python3-torch python3-torchvision`;
}

export class PythonServer {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: string[] = [];
  readonly #waiters: ((line: string) => void)[] = [];
  #stderr = '';
  #closed = false;

  constructor(args: readonly string[]) {
    this.#child = spawn('/usr/bin/python3', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let buf = '';
    this.#child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const w = this.#waiters.shift();
        if (w) w(line);
        else this.#lines.push(line);
      }
    });
    this.#child.stderr.setEncoding('utf8').on('data', (d: string) => (this.#stderr += d));
    this.#child.on('close', (code) => {
      this.#closed = true;
      for (const w of this.#waiters.splice(0)) w(JSON.stringify({ error: 'python', message: `exited with ${String(code)}: ${this.#stderr.slice(-2000)}` }));
    });
  }

  send(line: string): void {
    this.#child.stdin.write(`${line}\n`);
  }

  /** The next line the script printed, parsed. */
  next<T>(): Promise<T> {
    const line = this.#lines.shift();
    if (line !== undefined) return Promise.resolve(JSON.parse(line) as T);
    if (this.#closed) return Promise.reject(new Error(`fixture script exited: ${this.#stderr.slice(-2000)}`));
    return new Promise((resolve) => this.#waiters.push((l) => resolve(JSON.parse(l) as T)));
  }

  close(): void {
    this.#child.stdin.end();
  }
}
