/**
 * What a checkpoint must remember to rebuild the model and its input pipeline (eval, predict, visualize): the
 * `describe` record of every sidecar `tessera train` writes, and its reader.
 */
import { alexnet, type AlexNet, type AlexNetVariant, type SidecarFieldReader } from '@tessera/alexnet';
import type { CropSpec, TransformSpec } from '@tessera/data';
import type { PreparedData } from './data.js';

export const ALEXNET_VARIANTS: readonly AlexNetVariant[] = ['paper', 'torchvision', 'reduced'];

export type ModelDescription = {
  variant: AlexNetVariant;
  numClasses: number;
  channels: number;
  side: number;
  classNames: readonly string[] | null;
  /** The --data source it was trained on. */
  data: string;
  testTransform: TransformSpec;
};

export function describeModel(data: PreparedData, dataSource: string): ModelDescription {
  return {
    variant: data.variant,
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
  return {
    variant: f.oneOf(d.variant, 'variant', ALEXNET_VARIANTS),
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

export function modelFromDescription(d: ModelDescription): AlexNet {
  if (d.variant === 'reduced') return alexnet({ variant: 'reduced', numClasses: d.numClasses, inChannels: d.channels, inputSize: d.side, init: 'none' });
  return alexnet({ variant: d.variant, numClasses: d.numClasses, init: 'none' });
}
