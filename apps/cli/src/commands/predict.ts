/**
 * `tessera predict IMAGE…`: the top-5 classes with their names and probabilities, from a `tessera train`
 * checkpoint or from ImageNet weights made elsewhere (`--weights` .pth/.pt as torch.save writes them, .safetensors,
 * .onnx) for any zoo model by torchvision's state-dict keys.
 */
import { readFile } from 'node:fs/promises';
import { alexnet, loadOnnxInto, onnxTensorToFloat32, parseOnnxModel, type AlexNet, type AlexNetVariant } from '@tessera/alexnet';
import { decodeImage, imagenetClasses, torchvisionTestTransform, transformImage, type TransformSpec } from '@tessera/data';
import { createModel, modelInfo, type ModelName } from '@tessera/models';
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

/** Reads a weights file into `model` by its state-dict keys; returns a note on what was converted, if anything. */
async function loadWeights(model: nn.Module, path: string, name: ModelName, log: (line: string) => void): Promise<void> {
  const lower = path.toLowerCase();
  if (lower.endsWith('.pth') || lower.endsWith('.pt')) {
    const dict = await loadTorchStateDict(path);
    try {
      const converted = new Map<string, number>();
      for (const c of dict.conversions) converted.set(`${c.from} → ${c.to}`, (converted.get(`${c.from} → ${c.to}`) ?? 0) + 1);
      if (converted.size > 0) log(`${path}: converted ${[...converted].map(([what, n]) => `${n} tensor${n === 1 ? '' : 's'} ${what}`).join(', ')}`);
      model.loadStateDict(dict);
    } finally {
      dict.dispose();
    }
    return;
  }
  if (lower.endsWith('.safetensors')) {
    const file = await loadSafetensors(path);
    try {
      model.loadStateDict(file);
    } finally {
      for (const t of file.values()) t.dispose();
    }
    return;
  }
  if (lower.endsWith('.onnx')) {
    if (name === 'alexnet') {
      await loadOnnxInto(model as AlexNet, path);
      return;
    }
    // A zoo model takes the graph's initializers named like its state-dict keys (torch.onnx.export keeps the
    // names unless it folds batch norms into convolutions).
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (err) {
      throw new TesseraError('predict', `cannot read ${path}: ${(err as Error).message}`);
    }
    const initializers = parseOnnxModel(bytes).graph.initializers;
    const wanted = model.stateDict();
    const dict = new Map<string, Tensor>();
    for (const [key, current] of wanted) {
      const init = initializers.get(key);
      if (init && current.dtype !== 'int32') dict.set(key, tensor(onnxTensorToFloat32(init, key), init.dims));
    }
    try {
      const { missingKeys } = model.loadStateDict(dict, { strict: false });
      const missing = missingKeys.filter((k) => !k.endsWith('num_batches_tracked'));
      if (missing.length > 0) {
        throw new TesseraError(
          'predict',
          `${path} has no initializer for ${missing.length} of ${name}'s ${wanted.size} state-dict keys (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}); ` +
            'export it with torch.onnx.export(..., do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE) so the weights keep their names, or pass a .pth or .safetensors file',
        );
      }
    } finally {
      for (const t of dict.values()) t.dispose();
    }
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
    } else {
      if (values.variant !== undefined) throw new TesseraError('--variant', `is AlexNet's; ${name} has none`);
      const info = modelInfo(name);
      if (info.defaultInput[0] !== 3) {
        throw new TesseraError(
          '--weights',
          `${name} has no ImageNet weights to predict with (it reads ${info.defaultInput.join('×')}); use a --checkpoint from tessera train`,
        );
      }
      // torchvision's ImageNet GoogLeNet expects its inputs re-normalised by transform_input (set when weights load).
      model = name === 'googlenet' ? createModel('googlenet', { init: 'none', transformInput: true }) : createModel(name, { init: 'none' });
      side = info.defaultInput[1];
    }
    await loadWeights(model, path, name, log);
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
