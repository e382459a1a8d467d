/** `tessera eval`: loss, top-1 and top-5 error of a checkpoint, on the centre crop and optionally the paper's ten crops. */
import { TesseraError } from '@tessera/tensor';
import { geometryOf, loadCheckpointModel, openCheckpoint } from '../checkpoint.js';
import type { Context } from '../context.js';
import { parseDataSpec, prepareData, testLoader } from '../data.js';
import { modelName } from '../model-description.js';
import { intOption, parse } from '../options.js';
import { selectBackend } from '../select-backend.js';
import { parseModelName } from '../zoo.js';

export async function evalCommand(args: string[], ctx: Context): Promise<void> {
  const { values } = parse(args, {
    checkpoint: { type: 'string' },
    data: { type: 'string' },
    'ten-crop': { type: 'boolean', default: false },
    'batch-size': { type: 'string' },
    workers: { type: 'string' },
    stats: { type: 'string' },
    model: { type: 'string' },
    'test-images': { type: 'string' },
  });
  if (!values.checkpoint) throw new TesseraError('eval', '--checkpoint PATH is required (a checkpoint directory or its epoch-NNNN.json)');
  const backend = await selectBackend(values.backend as string | undefined);
  const checkpoint = await openCheckpoint(values.checkpoint as string);
  const { sidecarPath } = checkpoint;
  const desc = checkpoint.sidecar.describe;
  const asked = parseModelName(values.model);
  if (asked !== undefined && asked !== modelName(desc))
    throw new TesseraError('--model', `the checkpoint ${sidecarPath} holds ${modelName(desc)}, not ${asked}`);
  const spec = parseDataSpec((values.data as string | undefined) ?? desc.data);
  const data = await prepareData(spec, {
    ...geometryOf(desc),
    ...(values['test-images'] !== undefined ? { testImages: intOption(values['test-images'], 'test-images', 0, 1) } : {}),
    log: ctx.log,
    ...(values.stats ? { stats: values.stats as string } : {}),
  });
  if (data.numClasses !== desc.numClasses) throw new TesseraError('eval', `the checkpoint has ${desc.numClasses} classes but the data has ${data.numClasses}`);
  const { trainer } = await loadCheckpointModel(checkpoint);
  const config = {
    batchSize: intOption(values['batch-size'], 'batch-size', 128),
    seed: 0,
    backend,
    ...(values.workers !== undefined ? { workers: intOption(values.workers, 'workers', 0, 0) } : {}),
  };
  const loader = testLoader(data, config);
  const centre = await trainer.evaluate(loader, 1);
  await loader.close();
  let ten = null;
  if (values['ten-crop']) {
    const tl = testLoader(data, config, true);
    ten = await trainer.evaluate(tl, 10);
    await tl.close();
  }
  const line = (name: string, r: typeof centre) =>
    `${name}: loss ${r.loss.toFixed(4)} · top-1 error ${r.top1Error.toFixed(4)} · top-5 error ${r.top5Error.toFixed(4)} · ${r.count} images`;
  ctx.out([line('centre crop', centre), ...(ten ? [line('10 crops', ten)] : [])].join('\n'), { checkpoint: sidecarPath, centre, tenCrop: ten });
}
