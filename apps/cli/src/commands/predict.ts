/**
 * `tessera predict IMAGE…`: the top-5 classes with their names and probabilities, from a `tessera train`
 * checkpoint or from ImageNet weights made elsewhere (`--weights` .pth/.pt as torch.save writes them, .safetensors,
 * .onnx) for any zoo model by torchvision's state-dict keys.
 */
import { readFile } from 'node:fs/promises';
import { alexnet, loadOnnxInto, type AlexNet, type AlexNetVariant } from '@tessera/alexnet';
import { decodeImage, imagenetClasses, torchvisionTestTransform, transformImage, type TransformSpec } from '@tessera/data';
import { createModel, modelInfo, type ModelName } from '@tessera/models';
import { loadOnnxModel } from '@tessera/onnx';
import { F, TesseraError, loadSafetensors, loadTorchStateDict, noGrad, tensor, tidy, type Tensor, type nn } from '@tessera/tensor';
import { loadCheckpointModel, openCheckpoint } from '../checkpoint.js';
import type { Context } from '../context.js';
import { modelName } from '../model-description.js';
import { intOption, parse } from '../options.js';
import { selectBackend } from '../select-backend.js';
import { parseModelName } from '../zoo.js';

interface Loaded {
  model: nn.Module;
  classNames: readonly string[];
  channels: number;
  side: number;
  transform: TransformSpec;
}

const WEIGHT_FORMATS = '.pth/.pt (torch.save), .safetensors or .onnx';

/** loadStateDict, its report of every missing, unexpected or mis-shaped key cut to one line naming the file. */
function loadInto(model: nn.Module, dict: Map<string, Tensor>, path: string, name: ModelName): void {
  try {
    model.loadStateDict(dict);
  } catch (err) {
    if (!(err instanceof TesseraError)) throw err;
    const problems = err.message
      .split('\n')
      .slice(1)
      .map((line) => line.trim())
      .filter((line) => line.length > 0)
      .map((line) => (line.length > 160 ? `${line.slice(0, 157)}…` : line));
    throw new TesseraError('--weights', `${path} does not fit ${name} (torchvision's state-dict keys): ${problems.join('; ') || err.message}`);
  }
}

/** Reads a weights file into `model` by its state-dict keys (logging any dtype conversions of a .pth file). */
async function loadWeights(model: nn.Module, path: string, name: ModelName, log: (line: string) => void): Promise<void> {
  const lower = path.toLowerCase();
  if (lower.endsWith('.pth') || lower.endsWith('.pt')) {
    const dict = await loadTorchStateDict(path);
    try {
      const converted = new Map<string, number>();
      for (const c of dict.conversions) converted.set(`${c.from} → ${c.to}`, (converted.get(`${c.from} → ${c.to}`) ?? 0) + 1);
      loadInto(model, dict, path, name);
      if (converted.size > 0) log(`${path}: converted ${[...converted].map(([what, n]) => `${n} tensor${n === 1 ? '' : 's'} ${what}`).join(', ')}`);
    } finally {
      dict.dispose();
    }
    return;
  }
  if (lower.endsWith('.safetensors')) {
    const file = await loadSafetensors(path);
    try {
      loadInto(model, file, path, name);
    } finally {
      for (const t of file.values()) t.dispose();
    }
    return;
  }
  if (lower.endsWith('.onnx')) {
    // AlexNet's own importer (the paper's and torchvision's graphs); other models run their graph (loadModel).
    await loadOnnxInto(model as AlexNet, path);
    return;
  }
  throw new TesseraError('--weights', `${path}: expected ${WEIGHT_FORMATS}`);
}

async function loadModel(values: Record<string, unknown>, log: (line: string) => void): Promise<Loaded> {
  const asked = parseModelName(values.model);
  if (values.checkpoint) {
    if (values.weights) throw new TesseraError('predict', 'give --checkpoint or --weights, not both');
    const checkpoint = await openCheckpoint(values.checkpoint as string);
    const desc = checkpoint.sidecar.describe;
    if (asked !== undefined && asked !== modelName(desc))
      throw new TesseraError('--model', `the checkpoint ${checkpoint.sidecarPath} holds ${modelName(desc)}, not ${asked}`);
    const { model } = await loadCheckpointModel(checkpoint);
    return {
      model,
      classNames: desc.classNames ?? Array.from({ length: desc.numClasses }, (_, i) => `class ${i}`),
      channels: desc.channels,
      side: desc.side,
      transform: desc.testTransform,
    };
  }
  if (values.weights) {
    const path = values.weights as string;
    const name = asked ?? 'alexnet';
    let model: nn.Module;
    let side: number;
    if (name === 'alexnet') {
      const variant = ((values.variant as string | undefined) ?? 'torchvision') as AlexNetVariant;
      if (variant !== 'torchvision' && variant !== 'paper') throw new TesseraError('--variant', `ImageNet weights need paper or torchvision, got ${variant}`);
      const a = alexnet({ variant, init: 'none' });
      model = a;
      side = a.inputShape[1];
      await loadWeights(model, path, name, log);
    } else {
      if (values.variant !== undefined) throw new TesseraError('--variant', `is AlexNet's; ${name} has none`);
      const info = modelInfo(name);
      if (info.defaultInput[0] !== 3) {
        throw new TesseraError(
          '--weights',
          `${name} has no ImageNet weights to predict with (it reads ${info.defaultInput.join('×')}); use a --checkpoint from tessera train`,
        );
      }
      side = info.defaultInput[1];
      if (path.toLowerCase().endsWith('.onnx')) {
        // The exported graph itself, run by tessera's ONNX interpreter (torch.onnx.export renames and shares
        // initializers, so they cannot be matched to state-dict keys); --model gives the input and the classes.
        model = await loadOnnxModel(path);
      } else {
        // torchvision's ImageNet GoogLeNet expects its inputs re-normalised by transform_input (set when weights load).
        model = name === 'googlenet' ? createModel('googlenet', { init: 'none', transformInput: true }) : createModel(name, { init: 'none' });
        await loadWeights(model, path, name, log);
      }
    }
    return {
      model,
      classNames: imagenetClasses().map((c) => c.name),
      channels: 3,
      side,
      transform: torchvisionTestTransform({ size: side }),
    };
  }
  throw new TesseraError('predict', `needs --checkpoint PATH (from tessera train) or --weights FILE (${WEIGHT_FORMATS}) with --model NAME (default alexnet)`);
}

export async function predictCommand(args: string[], ctx: Context): Promise<void> {
  const { values, positionals } = parse(
    args,
    { checkpoint: { type: 'string' }, weights: { type: 'string' }, model: { type: 'string' }, variant: { type: 'string' }, top: { type: 'string' } },
    true,
  );
  if (positionals.length === 0) throw new TesseraError('predict', 'give at least one image path: tessera predict IMAGE… --checkpoint DIR');
  await selectBackend(values.backend as string | undefined);
  const loaded = await loadModel(values, ctx.log);
  loaded.model.eval();
  const k = Math.min(intOption(values.top, 'top', 5), loaded.classNames.length);
  // Images are decoded to the side the transform crops from (256 → 224, 32 → 28, or the model side itself).
  const crop = loaded.transform.crop;
  const decodeSide = crop ? Math.round((crop.size * 256) / 224) : loaded.side;
  const results: { image: string; top: { class: string; index: number; probability: number }[] }[] = [];
  for (const path of positionals) {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (err) {
      throw new TesseraError('predict', `cannot read ${path}: ${(err as Error).message}`);
    }
    const decoded = await decodeImage(bytes, path, { size: crop ? decodeSide : loaded.side });
    if (!decoded.ok) throw new TesseraError('predict', `${path}: ${decoded.reason}`);
    let image = decoded.image;
    if (loaded.channels === 1 && image.channels === 3) {
      const gray = new Uint8Array(image.height * image.width);
      for (let i = 0; i < gray.length; i++) gray[i] = Math.round(0.299 * image.data[3 * i]! + 0.587 * image.data[3 * i + 1]! + 0.114 * image.data[3 * i + 2]!);
      image = { data: gray, height: image.height, width: image.width, channels: 1 };
    }
    const pixels = transformImage(image, { ...loaded.transform, channels: loaded.channels });
    const probs: Tensor = noGrad(() => tidy(() => F.softmax(loaded.model.forward(tensor(pixels, [1, loaded.channels, loaded.side, loaded.side])), -1)));
    const { values: p, indices } = F.topk(probs, k);
    const pv = await p.data();
    const iv = await indices.data();
    results.push({ image: path, top: Array.from(iv, (index, j) => ({ class: loaded.classNames[index] ?? `class ${index}`, index, probability: pv[j]! })) });
    [probs, p, indices].forEach((t) => t.dispose());
  }
  const text = results
    .map((r) => [r.image, ...r.top.map((t) => `  ${(t.probability * 100).toFixed(2).padStart(6)}%  ${t.class} (${t.index})`)].join('\n'))
    .join('\n');
  ctx.out(text, results);
}
