/** `tessera predict IMAGE…`: the top-5 classes with their names and probabilities. */
import { readFile } from 'node:fs/promises';
import { alexnet, loadOnnxInto, type AlexNet, type AlexNetVariant } from '@tessera/alexnet';
import { decodeImage, imagenetClasses, torchvisionTestTransform, transformImage, type TransformSpec } from '@tessera/data';
import { F, TesseraError, loadSafetensors, noGrad, tensor, tidy, type Tensor } from '@tessera/tensor';
import { loadCheckpointModel, openCheckpoint } from '../checkpoint.js';
import type { Context } from '../context.js';
import { intOption, parse } from '../options.js';
import { selectBackend } from '../select-backend.js';

interface Loaded {
  model: AlexNet;
  classNames: readonly string[];
  channels: number;
  side: number;
  transform: TransformSpec;
}

async function loadModel(values: Record<string, unknown>): Promise<Loaded> {
  if (values.checkpoint) {
    const checkpoint = await openCheckpoint(values.checkpoint as string);
    const desc = checkpoint.sidecar.describe;
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
    const variant = ((values.variant as string | undefined) ?? 'torchvision') as AlexNetVariant;
    if (variant !== 'torchvision' && variant !== 'paper') throw new TesseraError('--variant', `ImageNet weights need paper or torchvision, got ${variant}`);
    let model: AlexNet;
    if (path.endsWith('.onnx')) {
      model = alexnet({ variant, init: 'none' });
      await loadOnnxInto(model, path);
    } else {
      model = alexnet({ variant, init: 'none' });
      const file = await loadSafetensors(path);
      model.loadStateDict(file);
    }
    return {
      model,
      classNames: imagenetClasses().map((c) => c.name),
      channels: 3,
      side: model.inputShape[1],
      transform: torchvisionTestTransform({ size: model.inputShape[1] }),
    };
  }
  throw new TesseraError('predict', 'needs --checkpoint PATH (from tessera train) or --weights FILE.safetensors|FILE.onnx with --variant');
}

export async function predictCommand(args: string[], ctx: Context): Promise<void> {
  const { values, positionals } = parse(
    args,
    { checkpoint: { type: 'string' }, weights: { type: 'string' }, variant: { type: 'string' }, top: { type: 'string' } },
    true,
  );
  if (positionals.length === 0) throw new TesseraError('predict', 'give at least one image path: tessera predict IMAGE… --checkpoint DIR');
  await selectBackend(values.backend as string | undefined);
  const loaded = await loadModel(values);
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
