/** Figures: a PNG encoder, first-layer filter grids (the paper's Figure 3) and training curves (SVG and PNG). */
export { encodePng, imageToPng, crc32, PNG_FILTERS, type PngFilter, type PngOptions, type RasterImage } from './png.js';
export { filterGrid, writeFilterGrid, type FilterGridOptions, type FilterWeight } from './filters.js';
export {
  curvesSvg,
  curvesPng,
  curvesScene,
  writeCurves,
  niceAxis,
  type NiceAxis,
  type CurveEpoch,
  type CurveStep,
  type CurveRates,
  type CurvesOptions,
} from './curves.js';
export { readTrainingLog, type TrainingLog } from './training-log.js';
export { renderSvg, renderRaster, escapeXml, type Scene, type SceneItem } from './scene.js';
