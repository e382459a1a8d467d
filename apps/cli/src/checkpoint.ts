/** Opening a `tessera train` checkpoint: its sidecar, read with the model description, then the model and weights. */
import { Trainer, readCheckpointSidecar, resolveCheckpoint, type CheckpointSidecar } from '@tessera/alexnet';
import type { nn } from '@tessera/tensor';
import type { PrepareOptions } from './data.js';
import { modelFromDescription, modelName, readModelDescription, type ModelDescription } from './model-description.js';

export interface OpenedCheckpoint {
  /** The epoch-NNNN.json (or step-NNNNNNNN.json) the path resolved to. */
  sidecarPath: string;
  sidecar: CheckpointSidecar & { describe: ModelDescription };
}

/** A checkpoint directory (its latest.json) or an epoch-NNNN.json; every sidecar field is checked. */
export async function openCheckpoint(path: string): Promise<OpenedCheckpoint> {
  const sidecarPath = await resolveCheckpoint(path);
  return { sidecarPath, sidecar: await readCheckpointSidecar(sidecarPath, readModelDescription) };
}

/** The model the checkpoint describes, with its weights, and the Trainer that loaded them (for evaluation). */
export async function loadCheckpointModel(checkpoint: OpenedCheckpoint): Promise<{ model: nn.Module; trainer: Trainer }> {
  const model = modelFromDescription(checkpoint.sidecar.describe);
  const trainer = new Trainer({ model, schedule: 'none' });
  await trainer.loadCheckpoint(checkpoint.sidecarPath);
  return { model, trainer };
}

/** The data geometry a description was trained at: AlexNet's variant, or a zoo model's input side. */
export function geometryOf(d: ModelDescription): Pick<PrepareOptions, 'variant' | 'side'> {
  return modelName(d) === 'alexnet' && d.variant !== null ? { variant: d.variant } : { side: d.side };
}
