/** The protobuf wire reader lives in @tessera/onnx; re-exported for the AlexNet importer's modules. */
export { ProtoReader, WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, decodeFloat32LE, decodeFloat64LE } from '@tessera/onnx';
