/** The pieces of @tessera/tensor's public API the exporter uses, and a shape formatter. */
import type { Tensor } from '@tessera/tensor';

export { TesseraError, Tensor, enableGrad, keep, nn, tidy, zeros } from '@tessera/tensor';

export function fmtShapeOf(t: Tensor): string {
  return `[${t.shape.join(', ')}]`;
}
