/** `tessera models`: every zoo model with its parameters, GFLOPs at its default input, inputs and reference recipe. */
import { listModels, modelInfo } from '@tessera/models';
import type { Context } from '../context.js';
import { parse } from '../options.js';
import { modelsTable } from '../zoo.js';

export function modelsCommand(args: string[], ctx: Context): void {
  parse(args, {});
  const json = listModels().map((s) => ({ ...s, recipe: modelInfo(s.name).recipe }));
  ctx.out(modelsTable(), json);
}
