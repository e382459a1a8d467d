import { describe, expect, it } from 'vitest';
import { SidecarFieldReader } from '@tessera/alexnet';
import { readModelDescription, type ModelDescription } from '../src/model-description.js';

describe('model description in a checkpoint sidecar', () => {
  it('a mean-image normalisation (--stats) survives the JSON round trip as a Float32Array', () => {
    const mean = new Float32Array(2 * 2 * 3).map((_, i) => i / 7);
    const written: ModelDescription = {
      variant: 'reduced',
      numClasses: 3,
      channels: 3,
      side: 2,
      classNames: null,
      data: 'synthetic',
      testTransform: { crop: { kind: 'center', size: 2 }, normalize: { kind: 'image', mean, height: 2, width: 2, channels: 3, scale: 255 } },
    };
    const json = JSON.parse(JSON.stringify(written)) as Record<string, unknown>;
    const read = readModelDescription(json, new SidecarFieldReader('run/checkpoints/epoch-0001.json').under('describe'));
    const norm = read.testTransform.normalize;
    expect(norm?.kind).toBe('image');
    if (norm?.kind !== 'image') return;
    expect(norm.mean).toBeInstanceOf(Float32Array);
    expect(Array.from(norm.mean)).toEqual(Array.from(mean));
    // A hand-edited mean names the field.
    (((json.testTransform as Record<string, unknown>).normalize as Record<string, unknown>).mean as Record<string, unknown>)['3'] = 'x';
    expect(() => readModelDescription(json, new SidecarFieldReader('f.json').under('describe'))).toThrow(
      /f\.json: "describe\.testTransform\.normalize\.mean\[3\]" must be/,
    );
  });
});
