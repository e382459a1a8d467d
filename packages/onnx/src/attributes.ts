/** Reading a node's attributes with their ONNX defaults; a value of the wrong kind is an error naming the node. */
import { TesseraError } from '@tessera/tensor';
import { ONNX_OP, describeNode, type OnnxAttribute, type OnnxNode } from './types.js';

export function attr(n: OnnxNode, name: string): OnnxAttribute | undefined {
  return n.attributes.get(name);
}

export function attrInt(n: OnnxNode, name: string, dflt: number, op: string = ONNX_OP): number {
  const a = attr(n, name);
  if (!a) return dflt;
  if (a.i === null) throw new TesseraError(op, `${describeNode(n)}: attribute ${name} should be an int`);
  return a.i;
}

export function attrFloat(n: OnnxNode, name: string, dflt: number, op: string = ONNX_OP): number {
  const a = attr(n, name);
  if (!a) return dflt;
  if (a.f !== null) return a.f;
  if (a.i !== null) return a.i;
  throw new TesseraError(op, `${describeNode(n)}: attribute ${name} should be a float`);
}

/** A list attribute (a copy), or `dflt` when the node does not set it. */
export function attrInts(n: OnnxNode, name: string, dflt: number[]): number[];
export function attrInts(n: OnnxNode, name: string, dflt: null): number[] | null;
export function attrInts(n: OnnxNode, name: string, dflt: number[] | null): number[] | null {
  const a = attr(n, name);
  if (!a) return dflt;
  return a.ints.slice();
}

export function attrString(n: OnnxNode, name: string, dflt: string): string {
  const a = attr(n, name);
  if (!a || a.s === null) return dflt;
  return new TextDecoder().decode(a.s);
}

/**
 * The shortest decimal that rounds to the same float32: attributes are float32 in the file, and a user's
 * alpha = 1e-4 should read back as 1e-4, not 9.99999974738e-5.
 */
export function f32Decimal(v: number): number {
  if (!Number.isFinite(v) || v === 0) return v;
  for (let p = 1; p <= 9; p++) {
    const d = Number(v.toPrecision(p));
    if (Math.fround(d) === v) return d;
  }
  return v;
}
