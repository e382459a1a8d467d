/**
 * What a checkpoint must remember to rebuild the model and its input pipeline (eval, predict, visualize, train
 * --resume): the `describe` record of every sidecar `tessera train` writes, and its reader. AlexNet is
 * @tessera/alexnet's model in one of its variants; every other model is built by @tessera/models' createModel
 * from its name and options.
 */
import { alexnet, type AlexNetVariant, type SidecarFieldReader } from '@tessera/alexnet';
import type { CropSpec, TransformSpec } from '@tessera/data';
import { MODEL_NAMES, createModel, type AnyModelOptions, type ModelName } from '@tessera/models';
import { TesseraError, nn } from '@tessera/tensor';
import type { PreparedData } from './data.js';

export const ALEXNET_VARIANTS: readonly AlexNetVariant[] = ['paper', 'torchvision', 'reduced'];

/** A zoo builder's options as JSON keeps them (numClasses and inChannels are the description's own fields). */
export type ModelOptionValues = Record<string, string | number | boolean>;

export type ModelDescription = {
  /** The model's name in the zoo; absent in checkpoints written before there was a zoo, meaning AlexNet. */
  model?: ModelName;
  /** The builder's options besides numClasses and inChannels (e.g. LeNet-5's inputSize, a dropout rate). */
  modelOptions?: ModelOptionValues;
  /** AlexNet's variant; null for the other models. */
  variant: AlexNetVariant | null;
  numClasses: number;
  channels: number;
  side: number;
  classNames: readonly string[] | null;
  /** The --data source it was trained on. */
  data: string;
  testTransform: TransformSpec;
};

/** The model a description names ('alexnet' for checkpoints from before the zoo). */
export const modelName = (d: ModelDescription): ModelName => d.model ?? 'alexnet';

export function describeModel(data: PreparedData, dataSource: string, model: ModelName, modelOptions: ModelOptionValues): ModelDescription {
  return {
    model,
    modelOptions,
    variant: model === 'alexnet' ? data.variant : null,
    numClasses: data.numClasses,
    channels: data.channels,
    side: data.side,
    classNames: data.classNames ?? null,
    data: dataSource,
    testTransform: data.testTransform,
  };
}

/** A sidecar's `describe` as a ModelDescription, field by field (a DescribeReader for readCheckpointSidecar). */
export function readModelDescription(d: Record<string, unknown>, f: SidecarFieldReader): ModelDescription {
  const classNames = d.classNames === null ? null : f.array(d.classNames, 'classNames').map((name, i) => f.string(name, `classNames[${i}]`));
  const model = d.model === undefined ? 'alexnet' : f.oneOf(d.model, 'model', MODEL_NAMES);
  const modelOptions: ModelOptionValues = {};
  if (d.modelOptions !== undefined) {
    for (const [k, v] of Object.entries(f.object(d.modelOptions, 'modelOptions'))) {
      if (typeof v !== 'string' && typeof v !== 'boolean' && (typeof v !== 'number' || !Number.isFinite(v)))
        f.fail(`modelOptions.${k}`, 'a number, string or boolean', v);
      modelOptions[k] = v;
    }
  }
  return {
    ...(d.model !== undefined ? { model } : {}),
    ...(d.modelOptions !== undefined ? { modelOptions } : {}),
    variant:
      model === 'alexnet' ? f.oneOf(d.variant, 'variant', ALEXNET_VARIANTS) : d.variant == null ? null : f.fail('variant', `null for ${model}`, d.variant),
    numClasses: f.integer(d.numClasses, 'numClasses', 1),
    channels: f.integer(d.channels, 'channels', 1),
    side: f.integer(d.side, 'side', 1),
    classNames,
    data: f.string(d.data, 'data'),
    testTransform: readTestTransform(f.object(d.testTransform, 'testTransform'), f.under('testTransform')),
  };
}

/**
 * The fields of the test transform the commands read themselves (crop, channels) are checked here; normalisation
 * and lighting are checked by @tessera/data when the transform is applied.
 */
function readTestTransform(t: Record<string, unknown>, f: SidecarFieldReader): TransformSpec {
  if (t.crop !== undefined) {
    const crop = f.object(t.crop, 'crop');
    const checked: CropSpec = { kind: f.oneOf(crop.kind, 'crop.kind', ['random', 'center', 'ten'] as const), size: f.integer(crop.size, 'crop.size', 1) };
    t = { ...t, crop: checked };
  }
  if (t.channels !== undefined) f.integer(t.channels, 'channels', 1);
  if (t.flip !== undefined) f.boolean(t.flip, 'flip');
  if (t.normalize !== undefined) {
    const norm = f.object(t.normalize, 'normalize');
    if (norm.kind === 'image') {
      // JSON writes the mean image (a Float32Array) as {"0": v, "1": v, …}; an array of numbers is read too.
      const raw = Array.isArray(norm.mean) ? norm.mean : f.object(norm.mean, 'normalize.mean');
      const values = Object.values(raw);
      const mean = new Float32Array(values.length);
      values.forEach((v, i) => (mean[i] = f.number(v, `normalize.mean[${i}]`)));
      t = { ...t, normalize: { ...norm, mean } };
    }
  }
  return t as TransformSpec;
}

export interface BuildOptions {
  seed?: number;
  /** AlexNet's dropout, or the zoo builder's `dropout` option. */
  dropout?: number;
  /** 'none' for a model about to load weights. */
  init?: 'none';
}

/**
 * Builds the model a description names: AlexNet in its variant (reduced: at the description's channels and side),
 * or a zoo model by createModel at the description's classes and channels with its recorded options.
 */
export function buildModel(d: ModelDescription, opts: BuildOptions = {}): nn.Module {
  const name = modelName(d);
  const init = opts.init ? { init: opts.init } : {};
  const seed = opts.seed !== undefined ? { seed: opts.seed } : {};
  if (name === 'alexnet') {
    if (d.variant === null) throw new TesseraError('model', 'an AlexNet description needs its variant');
    const dropout = opts.dropout !== undefined ? { dropout: opts.dropout } : {};
    if (d.variant === 'reduced')
      return alexnet({ variant: 'reduced', numClasses: d.numClasses, inChannels: d.channels, inputSize: d.side, ...seed, ...dropout, ...init });
    return alexnet({ variant: d.variant, numClasses: d.numClasses, ...seed, ...dropout, ...init });
  }
  const options = {
    ...(d.modelOptions ?? {}),
    numClasses: d.numClasses,
    inChannels: d.channels,
    ...seed,
    ...init,
    ...(opts.dropout !== undefined ? { dropout: opts.dropout } : {}),
  } as AnyModelOptions;
  return createModel(name, options);
}

export function modelFromDescription(d: ModelDescription): nn.Module {
  return buildModel(d, { init: 'none' });
}

/** The first convolution of any model: the first Conv2d among its modules, in registration order. */
export function firstConv(model: nn.Module): nn.Conv2d | null {
  for (const m of model.modules()) if (m instanceof nn.Conv2d) return m;
  return null;
}
