/** Classification metrics: loss, top-1 and top-5 error, accumulated over batches without extra readbacks. */
import { F, TesseraError, noGrad, tidy, type Tensor } from '@tessera/tensor';

export interface ErrorRates {
  /** Mean cross-entropy of the (crop-averaged) predictions. */
  loss: number;
  top1Error: number;
  top5Error: number;
  /** Images evaluated. */
  count: number;
}

/**
 * Sums of loss and top-1 / top-5 hits for a batch of probabilities [N, C] and labels [N], as a [3] tensor
 * (kept on the device until the caller reads it).
 */
export function batchCounts(probs: Tensor, labels: Tensor): Tensor {
  return noGrad(() =>
    tidy(() => {
      const classes = probs.shape[1]!;
      const k = Math.min(5, classes);
      const { indices } = F.topk(probs, k);
      const hits = indices.eq(labels.reshape([-1, 1]));
      const top1 = hits.slice(1, 0, 1).sum().cast('float32');
      const top5 = hits.sum().cast('float32');
      // −log p(label), from probabilities (crop-averaged softmax), clamped away from log(0).
      const picked = probs.mul(F.oneHot(labels, classes)).sum(1).clamp(1e-12);
      const nll = picked.log().neg().sum();
      return F.cat([nll.reshape([1]), top1.reshape([1]), top5.reshape([1])]);
    }),
  );
}

/** Accumulates batchCounts on the device; reads back once in `result()`. */
export class ErrorMeter {
  private total: Tensor | null = null;
  private count = 0;

  add(probs: Tensor, labels: Tensor): void {
    if (probs.rank !== 2 || labels.rank !== 1 || probs.shape[0] !== labels.shape[0]) {
      throw new TesseraError('ErrorMeter', `expects probabilities [N, C] and labels [N], got [${probs.shape}] and [${labels.shape}]`);
    }
    const counts = batchCounts(probs, labels);
    if (this.total) {
      const sum = this.total.add(counts);
      this.total.dispose();
      counts.dispose();
      this.total = sum;
    } else {
      this.total = counts;
    }
    this.count += labels.shape[0]!;
  }

  async result(): Promise<ErrorRates> {
    if (!this.total || this.count === 0) return { loss: NaN, top1Error: NaN, top5Error: NaN, count: 0 };
    const [nll, top1, top5] = Array.from(await this.total.data()) as [number, number, number];
    this.total.dispose();
    this.total = null;
    const n = this.count;
    this.count = 0;
    return { loss: nll / n, top1Error: 1 - top1 / n, top5Error: 1 - top5 / n, count: n };
  }
}
