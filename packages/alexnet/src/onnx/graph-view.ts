/** The model-independent graph view (in @tessera/onnx), reporting errors as the AlexNet importer's. */
import { OnnxGraphView as View, type OnnxGraph } from '@tessera/onnx';
import { IMPORT_OP } from './types.js';

export class OnnxGraphView extends View {
  constructor(graph: OnnxGraph) {
    super(graph, IMPORT_OP);
  }
}
