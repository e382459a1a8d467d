/**
 * The `tessera` command. Every command accepts `--backend cpu|onednn|webgpu|gpujs|cuda` (or TESSERA_BACKEND) and `--json`;
 * bad arguments and missing data end in one clear line on stderr and a non-zero exit status.
 */
import { TesseraError, availableBackends } from '@tessera/tensor';
import { backendsCommand } from './commands/backends.js';
import { benchCommand } from './commands/bench.js';
import { demoCommand } from './commands/demo.js';
import { evalCommand } from './commands/eval.js';
import { predictCommand } from './commands/predict.js';
import { trainCommand } from './commands/train.js';
import { visualizeCommand } from './commands/visualize.js';
import { createContext } from './context.js';
import { TrainingInterrupted } from './training.js';

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
  --backend NAME       onednn or cpu (the default: the fastest available), webgpu, gpujs or cuda; also TESSERA_BACKEND
  --data SOURCE        imagenet:DIR | fashion-mnist[:DIR] | synthetic[:DIR]
  --json               machine-readable output on stdout
  --help               this text`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const json = rest.includes('--json');
  const ctx = createContext(json);
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
        await trainCommand(rest, ctx);
        return 0;
      case 'demo':
        await demoCommand(rest, ctx);
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
    if (err instanceof TrainingInterrupted) {
      process.stderr.write(`tessera ${command}: ${err.message}\n`);
      return err.exitCode;
    }
    const message = err instanceof TesseraError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
    if (json) process.stdout.write(JSON.stringify({ error: message }) + '\n');
    process.stderr.write(`tessera ${command}: ${message}\n`);
    return 1;
  }
}
