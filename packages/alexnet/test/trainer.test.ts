import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { manualSeed, tensor, TesseraError } from '@tessera/tensor';
import { Trainer, alexnet, type BatchSource } from '../src/index.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'tessera-trainer-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A tiny learnable set: class = which quadrant of a 28×28 image is bright; order reshuffled per epoch. */
class QuadrantSource implements BatchSource {
  private epochIndex: number;
  readonly length: number;
  constructor(
    private readonly n: number,
    private readonly batch: number,
    state?: { epoch: number },
  ) {
    this.epochIndex = state?.epoch ?? 0;
    this.length = Math.ceil(n / batch);
  }
  state() {
    return { epoch: this.epochIndex };
  }
  async *epoch() {
    const e = this.epochIndex++;
    const order = Array.from({ length: this.n }, (_, i) => (i * 7 + e * 3) % this.n);
    for (let s = 0; s < this.n; s += this.batch) {
      const ids = order.slice(s, s + this.batch);
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
  }
}

const model = () => alexnet({ variant: 'reduced', numClasses: 4, seed: 2, widthMultiplier: 0.5 });

describe('Trainer', () => {
  it('learns, evaluates top-1/top-5 and writes checkpoints and a JSON-lines log', async () => {
    manualSeed(1);
    const dir = tmp();
    const trainer = new Trainer({ model: model(), epochs: 3, lr: 0.05, checkpointDir: dir, logFile: join(dir, 'log.jsonl'), schedule: 'none', logEvery: 2 });
    const history = await trainer.fit(new QuadrantSource(64, 16), new QuadrantSource(32, 16));
    expect(history).toHaveLength(3);
    expect(history[2]!.trainLoss).toBeLessThan(history[0]!.trainLoss);
    expect(history[2]!.val!.top5Error).toBe(0);
    expect(existsSync(join(dir, 'epoch-0003.safetensors'))).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8'))).toEqual({ checkpoint: 'epoch-0003.json' });
    const lines = readFileSync(join(dir, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.type === 'epoch')).toHaveLength(3);
    expect(lines.filter((l) => l.type === 'step').length).toBeGreaterThan(3);
  });

  it('resuming from a checkpoint continues bit-identically on the CPU backend', async () => {
    const straight = async () => {
      manualSeed(5);
      const t = new Trainer({ model: model(), epochs: 2, lr: 0.02, patience: 0 });
      await t.fit(new QuadrantSource(48, 16), new QuadrantSource(16, 16));
      return t;
    };
    const a = await straight();

    const dir = tmp();
    manualSeed(5);
    const first = new Trainer({ model: model(), epochs: 1, lr: 0.02, patience: 0, checkpointDir: dir });
    await first.fit(new QuadrantSource(48, 16), new QuadrantSource(16, 16));
    // A fresh process would start from a different model and random state.
    manualSeed(999);
    const resumed = new Trainer({
      model: alexnet({ variant: 'reduced', numClasses: 4, seed: 77, widthMultiplier: 0.5 }),
      epochs: 2,
      lr: 0.5,
      patience: 0,
      checkpointDir: dir,
    });
    const sidecar = await resumed.loadCheckpoint(dir);
    expect(sidecar.epoch).toBe(1);
    await resumed.fit(new QuadrantSource(48, 16, sidecar.loader as { epoch: number }), new QuadrantSource(16, 16, { epoch: 1 }));

    for (const [name, p] of a.model.namedParameters()) {
      const q = resumed.model.namedParameters().find(([n]) => n === name)![1];
      expect(Array.from(await q.data()), name).toEqual(Array.from(await p.data()));
    }
    expect(resumed.history.map((h) => h.trainLoss)).toEqual(a.history.map((h) => h.trainLoss));
  });

  it("schedule 'steps' starts each listed epoch at a tenth of the rate, also across a resume", async () => {
    const run = async (dir?: string) => {
      manualSeed(4);
      const t = new Trainer({ model: model(), epochs: 3, lr: 0.05, schedule: 'steps', dropEpochs: [2, 3], ...(dir ? { checkpointDir: dir } : {}) });
      await t.fit(new QuadrantSource(32, 16));
      return t;
    };
    const straight = await run();
    // MultiStepLR multiplies by 0.1 (torch's semantics), so 0.05 → 0.005000000000000001.
    expect(straight.history.map((h) => h.lr)).toEqual([0.05, 0.05 * 0.1, 0.05 * 0.1 * 0.1]);

    // Resume after epoch 1 (the drop for epoch 2 is due) from a sidecar with the schedule's state, and from one
    // without (as written before the schedule was a MultiStepLR): both continue exactly.
    const dir = tmp();
    manualSeed(4);
    const first = new Trainer({ model: model(), epochs: 1, lr: 0.05, schedule: 'steps', dropEpochs: [2, 3], checkpointDir: dir });
    await first.fit(new QuadrantSource(32, 16));
    const sidecarPath = join(dir, 'epoch-0001.json');
    const sidecar = JSON.parse(readFileSync(sidecarPath, 'utf8'));
    expect(sidecar.scheduler).toMatchObject({ type: 'MultiStepLR', lastEpoch: 1, milestones: [1, 2] });
    const oldDir = tmp();
    for (const f of ['epoch-0001.safetensors']) writeFileSync(join(oldDir, f), readFileSync(join(dir, f)));
    // An old sidecar: no scheduler state, and the optimiser's lr not yet dropped.
    sidecar.scheduler = null;
    sidecar.optimizer.paramGroups[0].lr = 0.05;
    writeFileSync(join(oldDir, 'epoch-0001.json'), JSON.stringify(sidecar));
    for (const from of [sidecarPath, join(oldDir, 'epoch-0001.json')]) {
      manualSeed(999);
      const resumed = new Trainer({ model: model(), epochs: 3, lr: 0.5, schedule: 'steps', dropEpochs: [2, 3] });
      await resumed.loadCheckpoint(from);
      await resumed.fit(new QuadrantSource(32, 16, { epoch: 1 }));
      expect(
        resumed.history.map((h) => h.lr),
        from,
      ).toEqual(straight.history.map((h) => h.lr));
      expect(
        resumed.history.map((h) => h.trainLoss),
        from,
      ).toEqual(straight.history.map((h) => h.trainLoss));
    }
  });

  it('a non-finite loss stops training with a clear message and keeps the last good checkpoint', async () => {
    manualSeed(3);
    const dir = tmp();
    const t = new Trainer({ model: model(), epochs: 1, lr: 0.05, checkpointDir: dir });
    await t.fit(new QuadrantSource(32, 16));
    const good = t.checkpoint!;
    t.optimizer.lr = 1e30;
    t.epochs = 3;
    const err = await t.fit(new QuadrantSource(32, 16), undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TesseraError);
    expect((err as Error).message).toMatch(/loss became (NaN|Infinity|-Infinity)/);
    expect((err as Error).message).toContain(good);
    expect(JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')).checkpoint).toBe('epoch-0001.json');
  });
});
