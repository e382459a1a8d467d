/**
 * The one error type tessera throws for anything a caller did wrong (bad shapes, bad dtypes, disposed
 * tensors, malformed files) or anything a backend reports (device loss, out of memory). The message
 * names the operation, the shapes involved and what was expected.
 */
export class TesseraError extends Error {
  /** The operation that failed, e.g. `conv2d` or `loadSafetensors`. */
  readonly op: string;

  constructor(op: string, message: string, options?: { cause?: unknown }) {
    super(`${op}: ${message}`, options);
    this.name = 'TesseraError';
    this.op = op;
  }
}

/** Formats a shape the way messages print it: `[2, 3, 224, 224]`. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Throws a TesseraError for `op` unless `condition` holds. */
export function check(condition: unknown, op: string, message: () => string): asserts condition {
  if (!condition) throw new TesseraError(op, message());
}
