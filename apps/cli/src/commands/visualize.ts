/** `tessera visualize`: training curves (PNG + SVG) from a log, and the conv1 filter grid from a checkpoint. */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { readTrainingLog, writeCurves } from '@tessera/alexnet';
import { TesseraError } from '@tessera/tensor';
import { loadCheckpointModel, openCheckpoint } from '../checkpoint.js';
import type { Context } from '../context.js';
import { writeConv1Filters } from '../figures.js';
import { parse } from '../options.js';

export async function visualizeCommand(args: string[], ctx: Context): Promise<void> {
  const { values } = parse(args, { checkpoint: { type: 'string' }, log: { type: 'string' }, out: { type: 'string' } });
  if (!values.checkpoint && !values.log) throw new TesseraError('visualize', 'needs --checkpoint PATH and/or --log FILE.jsonl');
  const written: string[] = [];
  let outDir = values.out ? resolve(values.out as string) : null;
  // The run's log: --log, else log.jsonl of the run the checkpoint belongs to (beside its checkpoints/ folder).
  let logPath = (values.log as string | undefined) ?? null;
  if (values.checkpoint) {
    const checkpoint = await openCheckpoint(values.checkpoint as string);
    const { sidecarPath, sidecar } = checkpoint;
    const { model } = await loadCheckpointModel(checkpoint);
    outDir ??= join(dirname(sidecarPath), '..', 'figures');
    mkdirSync(outDir, { recursive: true });
    written.push(await writeConv1Filters(model, outDir));
    const besideRun = join(dirname(sidecarPath), '..', 'log.jsonl');
    if (logPath === null && existsSync(besideRun)) logPath = besideRun;
    if (logPath === null) {
      // No step log: the per-epoch history the sidecar carries still draws the curves.
      await writeCurves(sidecar.history, null, join(outDir, 'curves'));
      written.push(join(outDir, 'curves.png'), join(outDir, 'curves.svg'));
    }
  }
  if (logPath !== null) {
    const log = await readTrainingLog(logPath);
    outDir ??= dirname(resolve(logPath));
    mkdirSync(outDir, { recursive: true });
    await writeCurves(log.epochs, log.steps, join(outDir, 'curves'));
    written.push(join(outDir, 'curves.png'), join(outDir, 'curves.svg'));
  }
  ctx.out(written.map((w) => `wrote ${w}`).join('\n'), { written });
}
