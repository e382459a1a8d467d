/**
 * A graph's wiring, independent of any model: which node produces and which nodes consume each value, the
 * inputs fed at run time, constants (initializers, Constant nodes, either behind Identity), and the nodes in
 * topological order — what a recogniser walking the graph and an interpreter executing it both need.
 */
import { TesseraError } from '@tessera/tensor';
import { attr } from './attributes.js';
import { DTYPE, ONNX_OP, describeNode, emptyTensor, type OnnxGraph, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from './types.js';

/** How many Identity nodes `constant` follows before giving up (a chain that long is not an export artefact). */
const MAX_IDENTITY_HOPS = 16;

export class OnnxGraphView {
  /** Value name → index of the node producing it. */
  readonly producer = new Map<string, number>();
  /** Value name → indices of the nodes reading it (each node once, in file order). */
  readonly consumers = new Map<string, number[]>();

  constructor(
    readonly graph: OnnxGraph,
    readonly op: string = ONNX_OP,
  ) {
    graph.nodes.forEach((n, i) => {
      for (const o of n.outputs) if (o !== '') this.producer.set(o, i);
      for (const v of n.inputs) {
        if (v === '') continue;
        const list = this.consumers.get(v);
        if (list) {
          if (!list.includes(i)) list.push(i);
        } else this.consumers.set(v, [i]);
      }
    });
  }

  node(i: number): OnnxNode {
    const n = this.graph.nodes[i];
    if (!n) throw new TesseraError(this.op, `graph '${this.graph.name}' has no node #${i}`);
    return n;
  }

  /** The node as errors name it. */
  label(i: number): string {
    return describeNode(this.node(i), i);
  }

  /** Declared inputs that are neither initializers nor produced by a node: what the caller feeds. */
  runtimeInputs(): OnnxValueInfo[] {
    return this.graph.inputs.filter((v) => !this.graph.initializers.has(v.name) && !this.producer.has(v.name));
  }

  /** The constant tensor behind a value: an initializer, a Constant node's value, or either through Identity; null otherwise. */
  constant(name: string): OnnxTensor | null {
    for (let hops = 0; hops < MAX_IDENTITY_HOPS; hops++) {
      const init = this.graph.initializers.get(name);
      if (init) return init;
      const p = this.producer.get(name);
      if (p === undefined) return null;
      const n = this.node(p);
      if (n.opType === 'Identity' && n.inputs[0]) {
        name = n.inputs[0];
        continue;
      }
      if (n.opType !== 'Constant') return null;
      const v = attr(n, 'value');
      if (v?.t) return { ...v.t, name };
      const vf = attr(n, 'value_float') ?? attr(n, 'value_floats');
      if (vf) {
        const vals = vf.f !== null ? [vf.f] : vf.floats;
        return { ...emptyTensor(name, vf.f !== null ? [] : [vals.length], DTYPE.FLOAT), floatData: [vals] };
      }
      const vi = attr(n, 'value_int') ?? attr(n, 'value_ints');
      if (vi) {
        const vals = vi.i !== null ? [vi.i] : vi.ints;
        return { ...emptyTensor(name, vi.i !== null ? [] : [vals.length], DTYPE.INT64), int64Data: vals };
      }
      throw new TesseraError(this.op, `${describeNode(n, p)} has no value / value_float(s) / value_int(s) attribute this importer can read`);
    }
    throw new TesseraError(this.op, `value '${name}' is behind more than ${MAX_IDENTITY_HOPS} Identity nodes`);
  }

  /**
   * Node indices ordered so that every node comes after the producers of its inputs (Kahn's algorithm; among
   * nodes ready at the same time, file order). ONNX requires files to be sorted so, but not every writer is.
   * A cycle is an error naming a node on it.
   */
  topologicalOrder(): number[] {
    const nodes = this.graph.nodes;
    const waiting = nodes.map((n) => new Set(n.inputs.map((v) => this.producer.get(v)).filter((p): p is number => p !== undefined)).size);
    const dependents: number[][] = nodes.map(() => []);
    nodes.forEach((n, i) => {
      for (const p of new Set(n.inputs.map((v) => this.producer.get(v)))) if (p !== undefined) dependents[p]!.push(i);
    });
    // Kept sorted, so that ties go in file order (graphs are mostly chains: the list stays short).
    const ready = waiting.flatMap((w, i) => (w === 0 ? [i] : []));
    const order: number[] = [];
    while (ready.length > 0) {
      const i = ready.shift()!;
      order.push(i);
      for (const d of dependents[i]!) {
        if (--waiting[d]! === 0) {
          let at = ready.length;
          while (at > 0 && ready[at - 1]! > d) at--;
          ready.splice(at, 0, d);
        }
      }
    }
    if (order.length < nodes.length) {
      const stuck = waiting.findIndex((w) => w > 0);
      throw new TesseraError(this.op, `graph '${this.graph.name}' has a cycle through ${this.label(stuck)}: ONNX graphs must be acyclic`);
    }
    return order;
  }
}
