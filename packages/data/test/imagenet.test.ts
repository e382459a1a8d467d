import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TesseraError } from '@tessera/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateSyntheticImagenet,
  imagenetClass,
  imagenetClassByIlsvrcId,
  imagenetClassByWnid,
  imagenetClasses,
  openImagenet,
  parseGroundTruth,
  parseKaggleSolution,
  type SyntheticManifest,
} from '../src/index.js';
import { tempDir } from './helpers.js';

const small = { classes: 4, trainPerClass: 3, valPerClass: 2, longSide: [48, 96] as [number, number] };

/** Expects `p` to reject with a TesseraError whose message matches every pattern. */
async function rejects(p: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e, 'expected a TesseraError').toBeInstanceOf(TesseraError);
  for (const re of patterns) expect((e as Error).message).toMatch(re);
}

describe('ILSVRC-2012 classes', () => {
  it('ships 1000 classes numbered by sorted wnid, with devkit ids and names', () => {
    const cs = imagenetClasses();
    expect(cs).toHaveLength(1000);
    expect(cs.map((c) => c.index)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    const wnids = cs.map((c) => c.wnid);
    expect([...wnids].sort()).toEqual(wnids);
    expect(new Set(cs.map((c) => c.ilsvrcId)).size).toBe(1000);
    expect(cs[0]).toEqual({ index: 0, ilsvrcId: 449, wnid: 'n01440764', name: 'tench' });
    expect(imagenetClassByWnid('n02119789')?.name).toBe('kit_fox');
    expect(imagenetClassByIlsvrcId(1)?.wnid).toBe('n02119789');
    expect(imagenetClass(999).wnid).toBe(wnids[999]);
    expect(imagenetClassByWnid('n99999999')).toBeUndefined();
    expect(() => imagenetClass(1000)).toThrow(TesseraError);
  });
});

describe.each(['folders', 'devkit', 'kaggle'] as const)('the %s layout', (layout) => {
  let dir: ReturnType<typeof tempDir>;
  let m: SyntheticManifest;
  beforeAll(async () => {
    dir = tempDir(layout);
    m = await generateSyntheticImagenet({ root: dir.path, layout, seed: 3, ...small });
  });
  afterAll(() => dir.remove());

  it('opens train with every image and its ImageNet label', async () => {
    const ds = await openImagenet({ root: dir.path, split: 'train' });
    expect(ds.scan?.layout).toBe(layout === 'kaggle' ? 'kaggle' : 'folders'); // the devkit's train/ is class folders
    expect(ds.length).toBe(12);
    expect(ds.numClasses).toBe(1000);
    const byPath = new Map(m.train.files.map((f, i) => [join(m.root, f), m.train.labels[i]]));
    for (let i = 0; i < ds.length; i++) expect(ds.labels[i], ds.source(i)).toBe(byPath.get(ds.source(i)));
    expect(ds.classNames[ds.labels[0]!]).toBe(imagenetClass(ds.labels[0]!).name);
  });

  it('opens val with labels from its label file', async () => {
    const ds = await openImagenet({ root: dir.path, split: 'val' });
    expect(ds.scan?.layout).toBe(layout);
    expect(ds.length).toBe(8);
    const byPath = new Map(m.val.files.map((f, i) => [join(m.root, f), m.val.labels[i]]));
    for (let i = 0; i < ds.length; i++) expect(ds.labels[i], ds.source(i)).toBe(byPath.get(ds.source(i)));
    if (layout !== 'folders') {
      // Flat val: image-number order, as the devkit lists it.
      expect(ds.source(0)).toMatch(/ILSVRC2012_val_00000001\.JPEG$/);
      expect(ds.scan?.labelFile).toMatch(layout === 'devkit' ? /ILSVRC2012_validation_ground_truth\.txt$/ : /LOC_val_solution\.csv$/);
    }
  });

  it('decodes images to 256×256 RGB by default, or another size', async () => {
    const ds = await openImagenet({ root: dir.path, split: 'val', size: 64 });
    const item = await ds.get(0);
    expect(item.ok).toBe(true);
    if (item.ok) expect([item.image.height, item.image.width, item.image.channels, item.image.data.length]).toEqual([64, 64, 3, 64 * 64 * 3]);
  });
});

describe('class numbering', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    dir = tempDir('numbering');
    // Classes 0…3 of ImageNet; drop class 1's folder so that 'folder' and 'imagenet' numbering differ.
    await generateSyntheticImagenet({ root: dir.path, seed: 1, ...small });
    rmSync(join(dir.path, 'train', imagenetClass(1).wnid), { recursive: true });
  });
  afterAll(() => dir.remove());

  it('imagenet: the 1000-class index; folder: 0…k−1 over the folders present; a list: positions in it', async () => {
    const imnet = await openImagenet({ root: dir.path, split: 'train' });
    expect([...new Set(imnet.labels)]).toEqual([0, 2, 3]);
    const folder = await openImagenet({ root: dir.path, split: 'train', classes: 'folder' });
    expect(folder.numClasses).toBe(3);
    expect([...new Set(folder.labels)]).toEqual([0, 1, 2]);
    expect(folder.classIds).toEqual([0, 2, 3].map((i) => imagenetClass(i).wnid));
    const list = [3, 2, 0].map((i) => imagenetClass(i).wnid);
    const listed = await openImagenet({ root: dir.path, split: 'train', classes: list });
    expect([...new Set(listed.labels)]).toEqual([2, 1, 0]);
    await rejects(openImagenet({ root: dir.path, split: 'train', classes: [list[0]!] }), /not in the given classes list/);
  });
});

describe('bad datasets are TesseraErrors that name the problem', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeAll(() => {
    dir = tempDir('bad');
  });
  afterAll(() => dir.remove());

  const fresh = async (name: string, layout: 'folders' | 'devkit' | 'kaggle' = 'folders') => {
    const root = join(dir.path, name);
    await generateSyntheticImagenet({ root, layout, seed: 2, ...small, trainPerClass: 1, valPerClass: 2 });
    return root;
  };

  it('missing root, missing split, empty split, split without images', async () => {
    await rejects(openImagenet({ root: join(dir.path, 'nope'), split: 'train' }), /nope does not exist/);
    const root = await fresh('missing');
    await rejects(openImagenet({ root, split: 'test' }), /has no test\/ directory/, /it holds train, val/);
    await rejects(openImagenet({ root, split: 'train', kernel: 'box' as 'linear' }), /kernel must be one of nearest, linear/);
    mkdirSync(join(root, 'empty'));
    await rejects(openImagenet({ root, split: 'empty' }), /empty\/? is empty|empty is empty/);
    mkdirSync(join(root, 'hollow', 'n01440764'), { recursive: true });
    writeFileSync(join(root, 'hollow', 'n01440764', 'notes.txt'), 'not an image');
    await rejects(openImagenet({ root, split: 'hollow' }), /no image files/);
  });

  it('unknown wnids, and class folders mixed with loose images', async () => {
    const root = await fresh('unknown');
    mkdirSync(join(root, 'train', 'n99999999'));
    writeFileSync(join(root, 'train', 'n99999999', 'x.JPEG'), '');
    await rejects(openImagenet({ root, split: 'train' }), /not ILSVRC-2012 wnids: n99999999/, /classes: 'folder'/);
    const root2 = await fresh('mixed');
    writeFileSync(join(root2, 'train', 'loose.JPEG'), '');
    await rejects(openImagenet({ root: root2, split: 'train' }), /mixes class folders/, /loose\.JPEG/);
  });

  it('a flat val without its ground truth, or with one that does not match the images', async () => {
    const root = await fresh('devkit', 'devkit');
    const gt = join(root, 'ILSVRC2012_devkit_t12', 'data', 'ILSVRC2012_validation_ground_truth.txt');
    const good = readFileSync(gt, 'utf8');
    renameSync(gt, `${gt}.away`);
    await rejects(openImagenet({ root, split: 'val' }), /is flat \(8 images/, /ILSVRC2012_validation_ground_truth\.txt was not found/);
    await rejects(openImagenet({ root, split: 'val', groundTruth: join(root, 'nowhere.txt') }), /nowhere\.txt was not found/);
    // Fewer labels than images.
    writeFileSync(gt, good.split('\n').slice(0, 6).join('\n'));
    await rejects(openImagenet({ root, split: 'val' }), /labels images 1…6, but .* holds 2 image\(s\) beyond that: ILSVRC2012_val_00000007\.JPEG/);
    // More labels than images: an error unless partial.
    writeFileSync(gt, good + '1\n1\n');
    await rejects(
      openImagenet({ root, split: 'val' }),
      /labels 10 images but .* holds 8: 2 missing \(ILSVRC2012_val_00000009, ILSVRC2012_val_00000010\)/,
      /partial: true/,
    );
    const partial = await openImagenet({ root, split: 'val', partial: true });
    expect(partial.length).toBe(8);
    expect(partial.scan?.labelsWithoutImages).toBe(2);
    // Malformed ids.
    for (const bad of ['0', '1001', 'tench', '3.5']) {
      writeFileSync(gt, good.replace(/^\d+\n/, `${bad}\n`));
      await rejects(openImagenet({ root, split: 'val' }), new RegExp(`line 1: "${bad.replace('.', '\\.')}" is not an ILSVRC2012_ID in 1…1000`));
    }
    writeFileSync(gt, good);
    // An image whose name cannot be looked up.
    writeFileSync(join(root, 'val', 'holiday.jpg'), '');
    await rejects(openImagenet({ root, split: 'val' }), /not named ILSVRC2012_val_NNNNNNNN.*holiday\.jpg/);
    rmSync(join(root, 'val', 'holiday.jpg'));
    expect((await openImagenet({ root, split: 'val' })).length).toBe(8);
  });

  it('Kaggle files that do not match the images', async () => {
    const root = await fresh('kaggle', 'kaggle');
    const csv = join(root, 'LOC_val_solution.csv');
    const good = readFileSync(csv, 'utf8');
    writeFileSync(csv, good.replace('ImageId,PredictionString', 'Id,Labels'));
    await rejects(openImagenet({ root, split: 'val' }), /expected the header "ImageId,PredictionString"/);
    writeFileSync(csv, good.replace(/,n\d{8}/, ',n99999999'));
    await rejects(openImagenet({ root, split: 'val' }), /wnids missing from .*LOC_synset_mapping\.txt: n99999999/);
    writeFileSync(csv, good.split('\n').slice(0, 5).join('\n') + '\n');
    await rejects(openImagenet({ root, split: 'val' }), /labels images 1…4, but .* holds 4 image\(s\) beyond that/);
    writeFileSync(csv, good);
    appendFileSync(join(root, 'LOC_synset_mapping.txt'), 'n99999998 made-up class\n');
    await rejects(openImagenet({ root, split: 'val' }), /lists wnids that are not ILSVRC-2012 classes: n99999998/);
    expect(() => parseKaggleSolution('ImageId,PredictionString\nILSVRC2012_val_00000001,\n', 'x.csv')).toThrow(/x\.csv line 2/);
  });

  it('parsers name the file and line', () => {
    expect(() => parseGroundTruth('', 'gt.txt')).toThrow(/gt\.txt is empty/);
    expect(parseGroundTruth('1\n2\n\n', 'gt.txt')).toEqual([imagenetClassByIlsvrcId(1)!.wnid, imagenetClassByIlsvrcId(2)!.wnid]);
  });
});
