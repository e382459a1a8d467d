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
import { modelsCommand } from './commands/models.js';
import { trainCommand } from './commands/train.js';
import { visualizeCommand } from './commands/visualize.js';
import { createContext } from './context.js';
import { TrainingInterrupted } from './training.js';
import { modelHelp } from './zoo.js';

export const USAGE = `usage: tessera <command> [options]

commands
  demo                 train the reduced AlexNet on Fashion-MNIST on the CPU (synthetic data when it is absent)
  train                train AlexNet or any zoo model (--model; tessera train --help lists the options and recipes)
  eval                 top-1/top-5 error of a checkpoint (--checkpoint, --data, --ten-crop)
  predict IMAGE…       top-5 classes with probabilities (--checkpoint, or --weights FILE.pth|.pt|.safetensors|.onnx
                       with --model NAME, default alexnet, and for AlexNet --variant torchvision|paper)
  bench                forward and training-step time per backend (--model, --variant or --image-size, --batch-size, --iters)
  models               the model zoo: parameters, GFLOPs, inputs and reference training recipes
  backends             each backend: available, or why not
  visualize            training curves and the conv1 filter grid as PNG/SVG (--checkpoint or --log)

common options
  --backend NAME       onednn or cpu (the default: the fastest available), webgpu, gpujs or cuda; also TESSERA_BACKEND
  --data SOURCE        imagenet:DIR | fashion-mnist[:DIR] | synthetic[:DIR]
  --json               machine-readable output on stdout
  --help               this text (tessera train --help: with the training options and every model's recipe)`;

export const TRAIN_USAGE = `usage: tessera train [options]     (tessera demo takes the same options, with its own defaults)

data and model
  --data SOURCE          imagenet:DIR | fashion-mnist[:DIR] | synthetic[:DIR] (default fashion-mnist)
  --model NAME           a zoo model (below; default alexnet, the paper's model and recipe)
  --variant V            AlexNet only: paper | torchvision | reduced (default: reduced on the small sets, else paper)
  --image-size N         zoo models only: the input side (default: see "Input" below)
  --train-images N       only the first N training images; --test-images N likewise for the test set
  --dropout P            AlexNet's dropout (default 0.5; reduced 0.3), or the zoo model's dropout option
recipe (defaults: AlexNet's below, a zoo model's from the table)
  --epochs N  --batch-size N  --lr X  --momentum X  --weight-decay X
  --rule paper|pytorch   the weight-decay/momentum update (AlexNet: paper; zoo models: pytorch, as torchvision)
  --lr-drop EPOCH        multiply the lr by --lr-gamma (default 0.1) from that 1-based epoch on
  --lr-step-size N       multiply the lr by --lr-gamma every N epochs (torch's StepLR)
  --lr-gamma G           the factor of --lr-drop / --lr-step-size (zoo models: their recipe's)
  --seed N               initialisation, shuffling, augmentation and dropout (default 0)
  --ten-crop             also report the paper's 10-crop error (ImageNet-layout data)
  --stats FILE           the paper's mean image and PCA lighting (tessera data stats)
running
  --out DIR              checkpoints/, log.jsonl and figures/ (default out/train)
  --resume PATH          a checkpoint directory (its latest.json) or an epoch-/step- sidecar; mid-epoch checkpoints
                         resume mid-epoch, to the same weights on cpu as a run never stopped
  --checkpoint-every E   also checkpoint every E optimizer steps (500) or every E of wall time (90s, 10m, 1h);
                         every epoch is checkpointed anyway; of the step checkpoints only the newest is kept
  --log-every N          read the loss back every N steps (default 5)
  --workers N            data-loading threads (default: cores, at most 8; Fashion-MNIST 0)
  Ctrl-C / SIGTERM       finish the step, write a checkpoint, print the command that resumes, exit 130 / 143;
                         a second signal exits at once. Writes are atomic (temporary file + fsync + rename).
  AlexNet's recipe (the paper's §5): SGD momentum 0.9, weight decay 5e-4 (paper rule), batch 128, lr 0.01 ÷10
  when the validation error stops improving, 90 epochs; the reduced variant 10 epochs at lr 0.04.

`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const json = rest.includes('--json');
  const ctx = createContext(json);
  if (command !== undefined && (rest.includes('--help') || rest.includes('-h'))) {
    const perCommand = command === 'train' || command === 'demo' ? TRAIN_USAGE + modelHelp() : command === 'models' ? modelHelp() : USAGE;
    process.stdout.write(perCommand + '\n');
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
      case 'models':
        modelsCommand(rest, ctx);
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
