// Long runs: checkpoints between epochs (every N steps, every so many seconds), a stop requested mid-epoch, and
// resuming from either to exactly the weights and losses of a run that was never interrupted (cpu backend).
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TesseraError, manualSeed, tensor, type Tensor } from '@tessera/tensor';
import { Trainer, alexnet, type BatchSource, type TrainerOptions } from '../src/index.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'tessera-long-runs-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Position {
  epoch: number;
  position: number;
}

/**
 * A resumable source: `n` images in batches of `batch`, a different order every epoch, and state() the position
 * after the batches yielded so far (the next epoch's start once an epoch is done), as @tessera/data's Loader does.
 */
class PositionSource implements BatchSource {
  private epochNo: number;
  private positionNo: number;
  readonly length: number;
  constructor(
    private readonly n: number,
    private readonly batch: number,
    state?: Position,
  ) {
    this.epochNo = state?.epoch ?? 0;
    this.positionNo = state?.position ?? 0;
    this.length = Math.ceil(n / batch);
  }
  state(): Position {
    return this.positionNo >= this.n ? { epoch: this.epochNo + 1, position: 0 } : { epoch: this.epochNo, position: this.positionNo };
  }
  async *epoch() {
    if (this.positionNo >= this.n) {
      this.epochNo++;
      this.positionNo = 0;
    }
    const e = this.epochNo;
    const order = Array.from({ length: this.n }, (_, i) => (i * 5 + e * 3) % this.n);
    while (this.positionNo < this.n) {
      const ids = order.slice(this.positionNo, this.positionNo + this.batch);
      this.positionNo += ids.length;
      const x = new Float32Array(ids.length * 784);
      const y = new Int32Array(ids.length);
      ids.forEach((id, r) => {
        const q = id % 4;
        y[r] = q;
        for (let i = 0; i < 28; i++)
          for (let j = 0; j < 28; j++) {
            const bright = i < 14 === q < 2 && j < 14 === (q % 2 === 0);
            x[r * 784 + i * 28 + j] = (bright ? 1 : 0) + 0.1 * Math.sin(id * 13 + i * 5 + j);
          }
      });
      yield { images: tensor(x, [ids.length, 1, 28, 28]), labels: tensor(y) };
    }
    this.epochNo++;
    this.positionNo = 0;
  }
}

// Dropout 0.5 draws from the global generator every step, so its state has to travel with the checkpoint too.
const model = (seed = 2) => alexnet({ variant: 'reduced', numClasses: 4, seed, widthMultiplier: 0.25, dropout: 0.5 });
const base: Omit<TrainerOptions, 'model'> = { epochs: 2, lr: 0.03, schedule: 'step', stepSize: 1, gamma: 0.5, rule: 'pytorch' };
const N = 40;
const B = 8; // 5 steps an epoch

async function weights(t: Trainer): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const [k, v] of t.model.stateDict()) out.set(k, Array.from(await (v as Tensor).data()));
  return out;
}

/** The run never interrupted, and no checkpoint written. */
async function straight(): Promise<Trainer> {
  manualSeed(11);
  const t = new Trainer({ model: model(), ...base });
  await t.fit(new PositionSource(N, B), new PositionSource(16, 8));
  return t;
}

/** A fresh process: another model, another random state, then the checkpoint. */
async function resume(from: string, dir: string, extra: Partial<TrainerOptions> = {}): Promise<Trainer> {
  manualSeed(999);
  const t = new Trainer({ model: model(77), ...base, lr: 0.5, checkpointDir: dir, ...extra });
  const sidecar = await t.loadCheckpoint(from);
  await t.fit(new PositionSource(N, B, sidecar.loader as Position), new PositionSource(16, 8));
  return t;
}

const names = (dir: string) => readdirSync(dir).sort();

describe('Trainer: long runs', () => {
  let reference: Trainer;
  let referenceWeights: Map<string, number[]>;

  it('a stop requested mid-epoch writes a step checkpoint, and resuming from it ends on the uninterrupted weights', async () => {
    reference = await straight();
    referenceWeights = await weights(reference);
    expect(reference.history.map((h) => h.lr)).toEqual([0.03, 0.015]);

    const dir = tmp();
    manualSeed(11);
    // Asked after the 2nd step of epoch 2, as a signal handler would.
    const t: Trainer = new Trainer({
      model: model(),
      ...base,
      checkpointDir: dir,
      logEvery: 1,
      onStep: (s) => {
        if (s.epoch === 2 && s.step === 2) t.requestStop('SIGTERM');
      },
    });
    const history = await t.fit(new PositionSource(N, B), new PositionSource(16, 8));
    expect(history).toHaveLength(1);
    expect(t.stopped).toEqual({ reason: 'SIGTERM', epoch: 1, step: 2, checkpoint: join(dir, 'step-00000007.json') });
    expect(JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8'))).toEqual({ checkpoint: 'step-00000007.json' });
    const sidecar = JSON.parse(readFileSync(join(dir, 'step-00000007.json'), 'utf8'));
    expect(sidecar.version).toBe(2);
    expect(sidecar.epoch).toBe(1);
    expect(sidecar.loader).toEqual({ epoch: 1, position: 16 });
    expect(sidecar.progress).toMatchObject({ step: 2, images: 16, lossDtype: 'float32' });
    expect(sidecar.optimizer.stepCount).toBe(7);

    const resumed = await resume(dir, dir);
    expect(resumed.stopped).toBeNull();
    expect(await weights(resumed)).toEqual(referenceWeights);
    expect(resumed.history.map((h) => [h.trainLoss, h.lr, h.images, h.val])).toEqual(reference.history.map((h) => [h.trainLoss, h.lr, h.images, h.val]));
    // The step checkpoint it came from is gone once newer ones exist; every epoch checkpoint stays.
    expect(names(dir)).toEqual(['epoch-0001.json', 'epoch-0001.safetensors', 'epoch-0002.json', 'epoch-0002.safetensors', 'latest.json']);
  });

  it('checkpointEvery steps: only the newest step checkpoint is kept, none lands on an epoch end, and each resumes exactly', async () => {
    const dir = tmp();
    manualSeed(11);
    const seen: string[] = [];
    // Every 3 steps of 5-step epochs: after steps 3 and 6 (epoch 2, step 1) and 9 (epoch 2, step 4); step 15 would be an epoch's end.
    const t = new Trainer({
      model: model(),
      ...base,
      epochs: 3,
      checkpointDir: dir,
      checkpointEvery: { steps: 3 },
      onEpoch: () => seen.push(...names(dir).filter((f) => f.startsWith('step-'))),
    });
    const written: string[] = [];
    const save = t.saveCheckpoint.bind(t);
    t.saveCheckpoint = async (...args) => {
      const path = await save(...args);
      written.push(path.slice(dir.length + 1));
      return path;
    };
    await t.fit(new PositionSource(N, B), new PositionSource(16, 8));
    expect(written).toEqual([
      'step-00000003.json',
      'epoch-0001.json',
      'step-00000006.json',
      'step-00000009.json',
      'epoch-0002.json',
      'step-00000012.json',
      'epoch-0003.json',
    ]);
    expect(seen, 'the step checkpoint of an epoch is removed by the epoch checkpoint after it').toEqual([]);
    expect(names(dir).filter((f) => f.startsWith('step-'))).toEqual([]);

    // Resume from a step checkpoint: run again to step 9 and stop there, as a crash would leave it.
    const dir2 = tmp();
    manualSeed(11);
    const u: Trainer = new Trainer({
      model: model(),
      ...base,
      checkpointDir: dir2,
      checkpointEvery: { steps: 3 },
      logEvery: 1,
      onStep: (s) => {
        if (s.epoch === 2 && s.step === 4) u.requestStop('test');
      },
    });
    await u.fit(new PositionSource(N, B), new PositionSource(16, 8));
    expect(u.stopped?.checkpoint).toBe(join(dir2, 'step-00000009.json'));
    expect(names(dir2)).toEqual(['epoch-0001.json', 'epoch-0001.safetensors', 'latest.json', 'step-00000009.json', 'step-00000009.safetensors']);
    const resumed = await resume(join(dir2, 'step-00000009.json'), dir2, { checkpointEvery: { steps: 3 } });
    expect(await weights(resumed)).toEqual(referenceWeights);
    expect(resumed.history.map((h) => h.trainLoss)).toEqual(reference.history.map((h) => h.trainLoss));
  });

  it('checkpointEvery seconds: a checkpoint after every step once the interval has passed', async () => {
    const dir = tmp();
    manualSeed(11);
    const t = new Trainer({ model: model(), ...base, epochs: 1, checkpointDir: dir, checkpointEvery: { seconds: 1e-6 } });
    const written: string[] = [];
    const save = t.saveCheckpoint.bind(t);
    t.saveCheckpoint = async (...args) => {
      const path = await save(...args);
      written.push(path.slice(dir.length + 1));
      return path;
    };
    await t.fit(new PositionSource(N, B));
    expect(written).toEqual(['step-00000001.json', 'step-00000002.json', 'step-00000003.json', 'step-00000004.json', 'epoch-0001.json']);
    expect(existsSync(join(dir, 'step-00000004.safetensors'))).toBe(false);
  });

  it('a stop between epochs, or without a checkpoint directory, says where it stopped', async () => {
    manualSeed(11);
    const t: Trainer = new Trainer({ model: model(), ...base, onEpoch: () => t.requestStop('SIGINT') });
    await t.fit(new PositionSource(N, B));
    expect(t.stopped).toEqual({ reason: 'SIGINT', epoch: 1, step: 0, checkpoint: null });
    const u: Trainer = new Trainer({ model: model(), ...base, logEvery: 1, onStep: (s) => s.step === 3 && u.requestStop('SIGINT') });
    await u.fit(new PositionSource(N, B));
    expect(u.stopped).toEqual({ reason: 'SIGINT', epoch: 0, step: 3, checkpoint: null });
    expect(u.history).toEqual([]);
  });

  it('a version-1 sidecar (before mid-epoch checkpoints) still resumes, at its epoch', async () => {
    const dir = tmp();
    manualSeed(11);
    const t = new Trainer({ model: model(), ...base, epochs: 1, checkpointDir: dir });
    await t.fit(new PositionSource(N, B));
    const path = join(dir, 'epoch-0001.json');
    const old = JSON.parse(readFileSync(path, 'utf8'));
    old.version = 1;
    delete old.progress;
    writeFileSync(path, JSON.stringify(old));
    const resumed = await resume(dir, tmp());
    expect(resumed.history).toHaveLength(2);
    expect(await weights(resumed)).toEqual(referenceWeights);
  });

  it('bad schedule or checkpoint options are TesseraErrors naming them', () => {
    const bad: [Partial<TrainerOptions>, RegExp][] = [
      [{ schedule: 'step' }, /schedule 'step' needs stepSize/],
      [{ schedule: 'none', stepSize: 3 }, /only it takes one/],
      [{ schedule: 'plateau', gamma: 0.5 }, /gamma .* is for the 'steps' and 'step' schedules only/],
      [{ schedule: 'step', stepSize: 2, gamma: 0 }, /gamma/],
      [{ checkpointEvery: {} }, /checkpointEvery needs steps/],
      [{ checkpointEvery: { steps: 1.5 } }, /checkpointEvery needs steps/],
      [{ checkpointEvery: { seconds: -1 } }, /checkpointEvery needs steps/],
      [{ schedule: 'cosine' as 'none' }, /schedule must be/],
    ];
    for (const [opts, message] of bad) {
      const make = () => new Trainer({ model: model(), ...opts });
      expect(make, JSON.stringify(opts)).toThrow(TesseraError);
      expect(make, JSON.stringify(opts)).toThrow(message);
    }
  });
});
