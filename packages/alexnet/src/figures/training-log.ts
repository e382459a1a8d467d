/**
 * The reader of the trainer's JSON-lines log ({type: 'step', …} and {type: 'epoch', …} lines, see trainer.ts),
 * giving the records the curves are drawn from.
 */
import { readFile } from 'node:fs/promises';
import { TesseraError } from '@tessera/tensor';
import type { CurveEpoch, CurveRates, CurveStep } from './curves.js';

/** A trainer log's steps and epochs; JSON nulls (NaN when logged) read back as NaN. Other logged fields are kept. */
export interface TrainingLog {
  steps: CurveStep[];
  epochs: CurveEpoch[];
}

const OP = 'readTrainingLog';

function num(v: unknown, what: string, where: string): number {
  if (v === null) return NaN;
  if (typeof v !== 'number') throw new TesseraError(OP, `${where}: ${what} should be a number, got ${JSON.stringify(v)}`);
  return v;
}

function rates(v: unknown, where: string): CurveRates | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object') throw new TesseraError(OP, `${where}: expected {loss, top1Error, top5Error}, got ${JSON.stringify(v)}`);
  const o = v as Record<string, unknown>;
  return { ...o, loss: num(o.loss, 'loss', where), top1Error: num(o.top1Error, 'top1Error', where), top5Error: num(o.top5Error, 'top5Error', where) };
}

/**
 * Reads the trainer's JSON-lines log. Where a run was resumed (or restarted) into the same file, the later lines
 * win: a step at or before one already read, or an epoch already read, discards what was logged from that point
 * on. A truncated last line (a run killed mid-write) is ignored; malformed lines elsewhere are an error naming
 * the line.
 */
export async function readTrainingLog(jsonlPath: string): Promise<TrainingLog> {
  let text: string;
  try {
    text = await readFile(jsonlPath, 'utf8');
  } catch (err) {
    throw new TesseraError(OP, `cannot read ${jsonlPath}: ${(err as Error).message}`);
  }
  return parseTrainingLog(text, jsonlPath);
}

/**
 * readTrainingLog on the file's text; `source` names it in errors.
 *
 * Both lists stay sorted (steps strictly by (epoch, step), epochs strictly by epoch), because every record first
 * discards what is at or after it. So "discard everything at or after x" is "pop from the end while the last
 * entry is at or after x": each entry is pushed and popped at most once, O(n) for the whole log (a 90-epoch
 * ImageNet log has ~10⁵ steps).
 */
export function parseTrainingLog(text: string, source: string): TrainingLog {
  const lines = text.split('\n');
  const steps: CurveStep[] = [];
  const epochs: CurveEpoch[] = [];
  const lastStep = () => steps[steps.length - 1];
  const lastEpoch = () => epochs[epochs.length - 1];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const where = `${source}:${i + 1}`;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch (err) {
      const isLast = lines.slice(i + 1).every((l) => l.trim() === '');
      if (isLast && !text.endsWith('\n')) break;
      throw new TesseraError(OP, `${where} is not JSON: ${(err as Error).message}`);
    }
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) throw new TesseraError(OP, `${where}: expected a JSON object`);
    if (rec.type === 'step') {
      const epoch = num(rec.epoch, 'epoch', where);
      const step = num(rec.step, 'step', where);
      if (!Number.isInteger(epoch) || !Number.isInteger(step)) throw new TesseraError(OP, `${where}: epoch and step must be integers`);
      for (let s = lastStep(); s !== undefined && (s.epoch > epoch || (s.epoch === epoch && s.step >= step)); s = lastStep()) steps.pop();
      for (let e = lastEpoch(); e !== undefined && e.epoch >= epoch; e = lastEpoch()) epochs.pop();
      const { type: _type, ...fields } = rec;
      const spe = rec.stepsPerEpoch;
      steps.push({ ...fields, epoch, step, loss: num(rec.loss, 'loss', where), stepsPerEpoch: typeof spe === 'number' ? spe : null });
    } else if (rec.type === 'epoch') {
      const epoch = num(rec.epoch, 'epoch', where);
      if (!Number.isInteger(epoch)) throw new TesseraError(OP, `${where}: epoch must be an integer`);
      // An epoch logged again: the run restarted at or before it, so its steps after that epoch are stale too.
      if ((lastEpoch()?.epoch ?? -Infinity) >= epoch) {
        for (let e = lastEpoch(); e !== undefined && e.epoch >= epoch; e = lastEpoch()) epochs.pop();
        for (let s = lastStep(); s !== undefined && s.epoch > epoch; s = lastStep()) steps.pop();
      }
      const out: CurveEpoch = { ...rec, epoch };
      delete (out as { type?: unknown }).type;
      if ('lr' in rec) out.lr = num(rec.lr, 'lr', where);
      if ('trainLoss' in rec) out.trainLoss = num(rec.trainLoss, 'trainLoss', where);
      const val = rates(rec.val, `${where} val`);
      const ten = rates(rec.valTenCrop, `${where} valTenCrop`);
      if (val) out.val = val;
      else delete out.val;
      if (ten) out.valTenCrop = ten;
      else delete out.valTenCrop;
      epochs.push(out);
    }
    // Other line types (future additions) are skipped.
  }
  return { steps, epochs };
}
