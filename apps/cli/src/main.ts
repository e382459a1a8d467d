/**
 * The `tessera` command. Every command accepts `--backend cpu|webgpu|cuda` (or TESSERA_BACKEND) and `--json`;
 * bad arguments and missing data end in one clear line on stderr and a non-zero exit status.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { TesseraError, availableBackends, registerBackend, registeredBackends, setBackend } from '@tessera/tensor';
import { backendsCommand } from './commands/backends.js';
import { benchCommand } from './commands/bench.js';
import { evalCommand } from './commands/eval.js';
import { predictCommand } from './commands/predict.js';
import { trainCommand } from './commands/train.js';
import { visualizeCommand } from './commands/visualize.js';

export const USAGE = `usage: tessera <command> [options]

commands
  demo                 train the reduced AlexNet on Fashion-MNIST on the CPU (synthetic data when it is absent)
  train                train AlexNet (--data, --variant, --epochs, --batch-size, --lr, --out, --resume DIR)
  eval                 top-1/top-5 error of a checkpoint (--checkpoint, --data, --ten-crop)
  predict IMAGE…       top-5 classes with probabilities (--checkpoint, or --weights FILE --variant)
  bench                forward and training-step time per backend (--variant, --batch-size, --iters)
  backends             each backend: available, or why not
  visualize            training curves and the conv1 filter grid as PNG/SVG (--checkpoint or --log)

common options
  --backend NAME       cpu (default), webgpu or cuda; also TESSERA_BACKEND
  --data SOURCE        imagenet:DIR | fashion-mnist[:DIR] | synthetic[:DIR]
  --json               machine-readable output on stdout
  --help               this text`;

/** Options every command understands; each command adds its own. */
export const COMMON: NonNullable<ParseArgsConfig['options']> = {
  backend: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
};

export interface Context {
  json: boolean;
  /** Human-readable progress and notes: stderr, silenced by --json. */
  log: (line: string) => void;
  /** The result: JSON on stdout with --json, else text. */
  out: (text: string, json?: unknown) => void;
}

/** Optional backend packages register themselves on import; a missing one is reported with the reason. */
export async function loadBackendPackages(): Promise<void> {
  for (const [name, pkg] of [
    ['webgpu', '@tessera/backend-webgpu'],
    ['cuda', '@tessera/backend-cuda'],
  ] as const) {
    if (registeredBackends().includes(name)) continue;
    try {
      await import(pkg);
    } catch (err) {
      const reason = `${pkg} could not be loaded (${(err as Error).message.split('\n')[0]})`;
      registerBackend(name, () => {
        throw new TesseraError(name, reason);
      });
    }
  }
}

export async function selectBackend(name: string | undefined): Promise<string> {
  const chosen = name ?? process.env.TESSERA_BACKEND ?? 'cpu';
  if (chosen !== 'cpu') await loadBackendPackages();
  await setBackend(chosen);
  return chosen;
}

export function parse(args: string[], options: NonNullable<ParseArgsConfig['options']>, positionals = false) {
  try {
    return parseArgs({ args, options: { ...COMMON, ...options }, allowPositionals: positionals, strict: true });
  } catch (err) {
    throw new TesseraError('arguments', (err as Error).message);
  }
}

/** A positive integer option, or the default. */
export function intOption(value: unknown, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new TesseraError(`--${name}`, `must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  return n;
}

export function numberOption(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new TesseraError(`--${name}`, `must be a non-negative number, got ${JSON.stringify(value)}`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const json = rest.includes('--json');
  const ctx: Context = {
    json,
    log: (line) => {
      if (!json) process.stderr.write(line + '\n');
    },
    out: (text, value) => {
      if (json) process.stdout.write(JSON.stringify(value ?? text) + '\n');
      else process.stdout.write(text + '\n');
    },
  };
  if (command !== undefined && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  try {
    switch (command) {
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        process.stdout.write(USAGE + '\n');
        return command === undefined ? 2 : 0;
      case 'backends':
        await backendsCommand(rest, ctx, availableBackends);
        return 0;
      case 'train':
        await trainCommand(rest, ctx, false);
        return 0;
      case 'demo':
        await trainCommand(rest, ctx, true);
        return 0;
      case 'eval':
        await evalCommand(rest, ctx);
        return 0;
      case 'predict':
        await predictCommand(rest, ctx);
        return 0;
      case 'bench':
        await benchCommand(rest, ctx);
        return 0;
      case 'visualize':
        await visualizeCommand(rest, ctx);
        return 0;
      default:
        process.stderr.write(`tessera: unknown command "${command}"; run tessera --help\n`);
        return 2;
    }
  } catch (err) {
    const message = err instanceof TesseraError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
    if (json) process.stdout.write(JSON.stringify({ error: message }) + '\n');
    process.stderr.write(`tessera ${command}: ${message}\n`);
    return 1;
  }
}
