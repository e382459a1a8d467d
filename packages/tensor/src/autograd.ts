/**
 * Reverse-mode automatic differentiation. Every differentiable op records a GradNode on its output: the
 * inputs, the tensors its backward rule needs, and the rule itself (written once, in terms of ops).
 * `backward` walks the recorded graph from the output in reverse topological order — the tape — and
 * accumulates gradients into leaf tensors' `.grad`.
 */
import { isGradEnabled, keep, noGrad, tidy } from './engine.js';
import { TesseraError, fmtShape } from './errors.js';
import { shapesEqual } from './shape.js';
import type { Tensor } from './tensor.js';

export interface GradNode {
  /** The op's name, for error messages. */
  readonly name: string;
  readonly inputs: readonly Tensor[];
  /** Tensors the backward rule reads (kept alive by tidy while the output is). */
  readonly saved: readonly Tensor[];
  /** Given ∂L/∂output, returns ∂L/∂input for each input (null where an input needs none). */
  readonly backward: (grad: Tensor) => readonly (Tensor | null)[];
}

/**
 * Records `out` as produced by `name` from `inputs` when grad mode is on and some input requires grad.
 * Returns `out`.
 */
export function record(out: Tensor, name: string, inputs: readonly Tensor[], backward: GradNode['backward'], saved: readonly Tensor[] = []): Tensor {
  if (!isGradEnabled() || !inputs.some((t) => t.requiresGrad)) return out;
  out.requiresGrad = true;
  out.isLeaf = false;
  out.gradFn = { name, inputs, saved, backward };
  return out;
}

/** Nodes reachable from `root` that need a gradient, outputs before inputs. */
function reverseTopological(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  // Iterative post-order DFS: deep nets would overflow a recursive walk.
  const stack: { t: Tensor; expanded: boolean }[] = [{ t: root, expanded: false }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (top.expanded) {
      order.push(top.t);
      continue;
    }
    if (visited.has(top.t)) continue;
    visited.add(top.t);
    stack.push({ t: top.t, expanded: true });
    for (const input of top.t.gradFn?.inputs ?? []) {
      if (input.requiresGrad && !visited.has(input)) stack.push({ t: input, expanded: false });
    }
  }
  return order.reverse();
}

export interface BackwardOptions {
  /** Keep the graph so backward can run through it again (default false: it is released). */
  retainGraph?: boolean;
}

/**
 * Computes ∂root/∂leaf for every leaf that requires grad and adds it into `leaf.grad`. `grad` defaults to 1
 * for a single-element root; otherwise it must match the root's shape.
 */
export function backward(root: Tensor, grad: Tensor | undefined, options: BackwardOptions = {}): void {
  if (!root.requiresGrad) {
    throw new TesseraError('backward', `tensor ${fmtShape(root.shape)} does not require grad and has no grad_fn`);
  }
  if (grad === undefined && root.size !== 1) {
    throw new TesseraError('backward', `grad can be implicitly created only for a single-element output, got ${fmtShape(root.shape)}; pass grad`);
  }
  if (grad !== undefined && (grad as { __tessera_tensor?: boolean } | null)?.__tessera_tensor !== true) {
    throw new TesseraError('backward', `grad must be a Tensor shaped like the output, got ${typeof grad}; options go in the second argument`);
  }
  if (grad !== undefined && !shapesEqual(grad.shape, root.shape)) {
    throw new TesseraError('backward', `grad has shape ${fmtShape(grad.shape)} but the output has shape ${fmtShape(root.shape)}`);
  }
  const order = reverseTopological(root);
  const released: Tensor[] = [];
  noGrad(() =>
    tidy(() => {
      const grads = new Map<Tensor, Tensor>();
      grads.set(root, grad ?? root.onesLike());
      for (const t of order) {
        const g = grads.get(t);
        if (!g) continue;
        const node = t.gradFn;
        if (!node && !t.isLeaf) {
          throw new TesseraError(
            'backward',
            'trying to backward through the graph a second time; its intermediate results were released — pass { retainGraph: true } to the first backward',
          );
        }
        if (!node) {
          // A leaf: accumulate into .grad, which outlives this tidy.
          if (t.grad) {
            const sum = t.grad.add(g);
            t.grad.dispose();
            t.grad = keep(sum);
          } else {
            t.grad = keep(g === grad ? g.clone() : g);
          }
          continue;
        }
        const inputGrads = node.backward(g);
        node.inputs.forEach((input, i) => {
          const ig = inputGrads[i];
          if (!ig || !input.requiresGrad) return;
          if (!shapesEqual(ig.shape, input.shape)) {
            throw new TesseraError(
              'backward',
              `the gradient rule of ${node.name} returned ${fmtShape(ig.shape)} for an input of shape ${fmtShape(input.shape)}`,
            );
          }
          const prev = grads.get(input);
          grads.set(input, prev ? prev.add(ig) : ig);
        });
        if (!options.retainGraph) {
          released.push(...node.inputs, ...node.saved);
          t.gradFn = null;
        }
      }
    }),
  );
  // Tensors a tidy kept alive only for this graph have no other owner: free them with it.
  for (const t of released) if (t.graphOwned && t !== root) t.dispose();
}
