#!/usr/bin/env python3
"""ONNX fixtures for test/onnx.test.ts (the ONNX importer, src/onnx.ts).

Writes into OUTDIR:
  torchvision.onnx              torchvision.models.alexnet() (seeded), exported by torch.onnx.export (opset 13)
  torchvision.input.bin         its input: float32 [2, 3, 224, 224], raw little-endian
  torchvision.logits.bin        torch's logits for it: float32 [2, 1000]
  paper_torch.onnx              a BVLC-style paper AlexNet built in torch (96-256-384-384-256, groups 2 in
                                conv2/4/5, nn.LocalResponseNorm(5, 1e-4, 0.75, k=1), conv1 stride 4 pad 0,
                                227x227 input, 1000 classes), exported by torch.onnx.export (opset 13). torch has
                                no LRN symbolic, so the LRN layers arrive as its Mul/Pad/AveragePool/Pow/Div
                                expansion.
  paper_zoo.onnx                the same weights written by hand in the layout of the ONNX model zoo's
                                bvlcalexnet-*.onnx (Caffe -> Caffe2 -> ONNX, opset 9): LRN nodes, declared input
                                data_0 [1, 3, 224, 224], bottom/right-padded pool1 and pool5, Reshape to [1, 9216],
                                Dropout nodes and a Softmax output, plus variations the importer must handle: conv3's
                                weight as a Constant node, conv5's as float_data, fc6 in FLOAT16, fc7 as MatMul + Add
                                with a [in, out] weight, fc8 as Gemm transB=0 with alpha=0.5.
  paper.input.bin               float32 [2, 3, 227, 227]
  paper.logits.bin              torch's logits for it (all three paper_*.onnx): float32 [2, 1000]
  resnetish.onnx                a tiny residual CNN (not AlexNet: a skip connection)
  mlp.onnx                      a two-layer perceptron (not AlexNet: no convolutions)
  caffenet.onnx                 paper widths but CaffeNet's order (pool before LRN), small FC layers
  paper_alt.onnx                the same weights in other legal spellings: ONNX LRN nodes, conv auto_pad VALID /
                                SAME_UPPER without kernel_shape, MaxPool ceil_mode=1, DOUBLE biases (double_data),
                                Flatten, Gemm beta=2 (biases stored halved), an Identity before the output and a
                                symbolic batch dimension -- same logits as paper.logits.bin

Only PyTorch and torchvision are needed (Debian: python3-torch, python3-torchvision): torch.onnx.export writes
its protobuf without the `onnx` package, and the hand-written files use the small encoder below.

usage: /usr/bin/python3 scripts/onnx_fixtures.py OUTDIR [--seed 0]
"""
import argparse
import os
import struct
import sys
import warnings

import torch
import torch.nn as nn
import torchvision

# ---- a minimal protobuf / ONNX encoder ------------------------------------------------------------------------


def varint(n):
    n &= (1 << 64) - 1  # int64 two's complement
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wire):
    return varint((field << 3) | wire)


def f_varint(field, v):
    return key(field, 0) + varint(v)


def f_bytes(field, b):
    return key(field, 2) + varint(len(b)) + b


def f_str(field, s):
    return f_bytes(field, s.encode())


def f_float(field, x):
    return key(field, 5) + struct.pack("<f", x)


FLOAT, INT64, FLOAT16, DOUBLE = 1, 7, 10, 11


def tensor_proto(name, t, dtype=FLOAT, storage="raw"):
    """TensorProto: dims 1, data_type 2, float_data 4, int64_data 7, name 8, raw_data 9, double_data 10."""
    out = b"".join(f_varint(1, d) for d in t.shape) + f_varint(2, dtype)
    if dtype == FLOAT:
        data = t.detach().contiguous().to(torch.float32).numpy().tobytes()
        out += f_bytes(4, data) if storage == "float_data" else b""  # packed repeated float
    elif dtype == FLOAT16:
        data = t.detach().contiguous().to(torch.float16).numpy().tobytes()
    elif dtype == DOUBLE:
        data = t.detach().contiguous().to(torch.float64).numpy().tobytes()
        out += f_bytes(10, data) if storage == "double_data" else b""
    elif dtype == INT64:
        data = t.detach().contiguous().to(torch.int64).numpy().tobytes()
        out += b"".join(f_varint(7, int(v)) for v in t.tolist()) if storage == "int64_data" else b""  # unpacked
    else:
        raise ValueError(dtype)
    out += f_str(8, name)
    if storage == "raw":
        out += f_bytes(9, data)
    return out


def attr(name, value=None, ints=None, f=None, s=None, t=None):
    """AttributeProto: name 1, f 2, i 3, s 4, t 5, ints 8, type 20 (FLOAT 1, INT 2, STRING 3, TENSOR 4, INTS 7)."""
    out = f_str(1, name)
    if f is not None:
        out += f_float(2, f) + f_varint(20, 1)
    elif ints is not None:
        out += f_bytes(8, b"".join(varint(v) for v in ints)) + f_varint(20, 7)  # packed
    elif s is not None:
        out += f_bytes(4, s.encode()) + f_varint(20, 3)
    elif t is not None:
        out += f_bytes(5, t) + f_varint(20, 4)
    else:
        out += f_varint(3, value) + f_varint(20, 2)
    return out


def node(op, inputs, outputs, name="", attrs=()):
    """NodeProto: input 1, output 2, name 3, op_type 4, attribute 5."""
    out = b"".join(f_str(1, i) for i in inputs) + b"".join(f_str(2, o) for o in outputs)
    if name:
        out += f_str(3, name)
    out += f_str(4, op) + b"".join(f_bytes(5, a) for a in attrs)
    return out


def value_info(name, shape, elem=FLOAT):
    dims = b"".join(f_bytes(1, f_varint(1, d) if isinstance(d, int) else f_str(2, d)) for d in shape)
    tensor_type = f_varint(1, elem) + f_bytes(2, dims)
    return f_str(1, name) + f_bytes(2, f_bytes(1, tensor_type))


def model_proto(nodes, initializers, inputs, outputs, name, opset, ir_version=4, producer="onnx-caffe2"):
    graph = b"".join(f_bytes(1, n) for n in nodes) + f_str(2, name)
    graph += b"".join(f_bytes(5, t) for t in initializers)
    graph += b"".join(f_bytes(11, v) for v in inputs) + b"".join(f_bytes(12, v) for v in outputs)
    opset_import = f_str(1, "") + f_varint(2, opset)
    return f_varint(1, ir_version) + f_str(2, producer) + f_str(3, "") + f_bytes(7, graph) + f_bytes(8, opset_import)


# ---- networks -------------------------------------------------------------------------------------------------


class PaperAlexNet(nn.Module):
    """BVLC's deploy AlexNet (Caffe layer names): 227x227 input, LRN k=1 (Caffe) rather than the paper's k=2."""

    def __init__(self, num_classes=1000, caffenet_order=False, hidden=4096):
        super().__init__()
        self.caffenet_order = caffenet_order
        self.conv1 = nn.Conv2d(3, 96, 11, stride=4, padding=0)
        self.conv2 = nn.Conv2d(96, 256, 5, padding=2, groups=2)
        self.conv3 = nn.Conv2d(256, 384, 3, padding=1)
        self.conv4 = nn.Conv2d(384, 384, 3, padding=1, groups=2)
        self.conv5 = nn.Conv2d(384, 256, 3, padding=1, groups=2)
        self.norm = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)
        self.pool = nn.MaxPool2d(3, 2)
        self.fc6 = nn.Linear(256 * 6 * 6, hidden)
        self.fc7 = nn.Linear(hidden, hidden)
        self.fc8 = nn.Linear(hidden, num_classes)

    def forward(self, x):
        r = torch.relu
        if self.caffenet_order:
            x = self.norm(self.pool(r(self.conv1(x))))
            x = self.norm(self.pool(r(self.conv2(x))))
        else:
            x = self.pool(self.norm(r(self.conv1(x))))
            x = self.pool(self.norm(r(self.conv2(x))))
        x = r(self.conv3(x))
        x = r(self.conv4(x))
        x = self.pool(r(self.conv5(x)))
        x = torch.flatten(x, 1)
        x = r(self.fc6(x))
        x = r(self.fc7(x))
        return self.fc8(x)


class ResNetish(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.a = nn.Conv2d(8, 8, 3, padding=1)
        self.b = nn.Conv2d(8, 8, 3, padding=1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        x = torch.relu(x + self.b(torch.relu(self.a(x))))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def export(model, x, path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, path, opset_version=13, input_names=["input"], output_names=["logits"], **kw)


def save_bin(path, t):
    with open(path, "wb") as f:
        f.write(t.detach().contiguous().to(torch.float32).numpy().tobytes())


def zoo_style(m, path):
    """bvlcalexnet-*.onnx's layout (see the module docstring), with the variations listed there."""
    sd = {k: v.detach() for k, v in m.state_dict().items()}
    inits = []
    nodes = []

    def init(name, t, dtype=FLOAT, storage="raw"):
        inits.append(tensor_proto(name, t, dtype, storage))
        return name

    def conv(i, x, pad, group, weight_as_constant=False, float_data=False):
        w, b = sd[f"conv{i}.weight"], sd[f"conv{i}.bias"]
        if weight_as_constant:
            nodes.append(node("Constant", [], [f"conv{i}_w_0"], f"conv{i}_w_const", [attr("value", t=tensor_proto(f"conv{i}_w_0", w))]))
        else:
            init(f"conv{i}_w_0", w, FLOAT, "float_data" if float_data else "raw")
        init(f"conv{i}_b_0", b)
        attrs = [attr("kernel_shape", ints=list(w.shape[2:])), attr("pads", ints=[pad] * 4), attr("strides", ints=[4, 4] if i == 1 else [1, 1])]
        if group != 1:
            attrs.append(attr("group", group))
        nodes.append(node("Conv", [x, f"conv{i}_w_0", f"conv{i}_b_0"], [f"conv{i}_1"], "", attrs))
        nodes.append(node("Relu", [f"conv{i}_1"], [f"conv{i}_2"]))
        return f"conv{i}_2"

    def lrn(x, i):
        nodes.append(node("LRN", [x], [f"norm{i}_1"], "", [attr("size", 5), attr("alpha", f=1e-4), attr("beta", f=0.75), attr("bias", f=1.0)]))
        return f"norm{i}_1"

    def pool(x, i, end_pad):
        nodes.append(node("MaxPool", [x], [f"pool{i}_1"], "", [attr("kernel_shape", ints=[3, 3]), attr("pads", ints=[0, 0, end_pad, end_pad]), attr("strides", ints=[2, 2])]))
        return f"pool{i}_1"

    x = pool(lrn(conv(1, "data_0", 0, 1), 1), 1, 1)
    x = pool(lrn(conv(2, x, 2, 2), 2), 2, 0)
    x = conv(3, x, 1, 1, weight_as_constant=True)
    x = conv(4, x, 1, 2)
    x = pool(conv(5, x, 1, 2, float_data=True), 5, 1)
    nodes.append(node("Reshape", [x, init("OC2_DUMMY_1", torch.tensor([1, 9216]), INT64)], ["OC2_DUMMY_0"], "", []))
    # fc6: Gemm transB=1 with a FLOAT16 weight (the test's weights are fp16-exact).
    nodes.append(node("Gemm", ["OC2_DUMMY_0", init("fc6_w_0", sd["fc6.weight"], FLOAT16), init("fc6_b_0", sd["fc6.bias"])], ["fc6_1"], "", [attr("transB", 1)]))
    nodes.append(node("Relu", ["fc6_1"], ["fc6_2"]))
    nodes.append(node("Dropout", ["fc6_2"], ["fc6_3", "_fc6_mask"], "", [attr("is_test", 1), attr("ratio", f=0.5)]))
    # fc7: MatMul with [in, out] + Add.
    nodes.append(node("MatMul", ["fc6_3", init("fc7_w_0", sd["fc7.weight"].t())], ["fc7_0"], "fc7_matmul"))
    nodes.append(node("Add", [init("fc7_b_0", sd["fc7.bias"]), "fc7_0"], ["fc7_1"], "fc7_add"))
    nodes.append(node("Relu", ["fc7_1"], ["fc7_2"]))
    nodes.append(node("Dropout", ["fc7_2"], ["fc7_3"], "", [attr("ratio", f=0.5)]))
    # fc8: Gemm transB=0 (B is [in, out]) with alpha=0.5 (B stored doubled: exact).
    nodes.append(node("Gemm", ["fc7_3", init("fc8_w_0", 2 * sd["fc8.weight"].t()), init("fc8_b_0", sd["fc8.bias"])], ["fc8_1"], "", [attr("alpha", f=0.5)]))
    nodes.append(node("Softmax", ["fc8_1"], ["softmaxout_1"]))
    # Old IR versions list initializers among the inputs, as the zoo file does.
    inputs = [value_info("data_0", [1, 3, 224, 224])] + [value_info(n, list(sd[k].shape)) for n, k in (("conv1_w_0", "conv1.weight"), ("conv1_b_0", "conv1.bias"))]
    with open(path, "wb") as f:
        f.write(model_proto(nodes, inits, inputs, [value_info("softmaxout_1", [1, 1000])], "bvlc_alexnet", opset=9))


def alt_style(m, path):
    """The same network in other legal spellings (see the module docstring)."""
    sd = {k: v.detach() for k, v in m.state_dict().items()}
    inits = []
    nodes = []

    def init(name, t, dtype=FLOAT, storage="raw"):
        inits.append(tensor_proto(name, t, dtype, storage))
        return name

    x = "image"
    for i, (group, lrn, pool) in enumerate([(1, True, True), (2, True, True), (1, False, False), (2, False, False), (2, False, True)], start=1):
        w, b = sd[f"conv{i}.weight"], sd[f"conv{i}.bias"]
        attrs = [attr("group", group), attr("dilations", ints=[1, 1])]
        if i == 1:
            attrs += [attr("strides", ints=[4, 4]), attr("auto_pad", s="VALID")]
        else:
            attrs += [attr("auto_pad", s="SAME_UPPER")]  # no kernel_shape: taken from the weight
        nodes.append(node("Conv", [x, init(f"w{i}", w), init(f"b{i}", b, DOUBLE, "double_data")], [f"c{i}"], f"conv{i}", attrs))
        nodes.append(node("Relu", [f"c{i}"], [f"r{i}"], f"relu{i}"))
        x = f"r{i}"
        if lrn:
            nodes.append(node("LRN", [x], [f"n{i}"], f"lrn{i}", [attr("size", 5), attr("alpha", f=1e-4), attr("beta", f=0.75), attr("bias", f=1.0)]))
            x = f"n{i}"
        if pool:
            nodes.append(node("MaxPool", [x], [f"p{i}"], f"pool{i}", [attr("kernel_shape", ints=[3, 3]), attr("strides", ints=[2, 2]), attr("ceil_mode", 1)]))
            x = f"p{i}"
    nodes.append(node("Flatten", [x], ["flat"], "flatten", [attr("axis", 1)]))
    x = "flat"
    for j, fc in enumerate(["fc6", "fc7", "fc8"]):
        nodes.append(node("Gemm", [x, init(f"{fc}.W", sd[f"{fc}.weight"]), init(f"{fc}.B", sd[f"{fc}.bias"] / 2)], [f"{fc}.y"], fc, [attr("transB", 1), attr("beta", f=2.0)]))
        x = f"{fc}.y"
        if j < 2:
            nodes.append(node("Relu", [x], [f"{fc}.r"], f"{fc}_relu"))
            x = f"{fc}.r"
    nodes.append(node("Identity", [x], ["out"], "id"))
    with open(path, "wb") as f:
        f.write(model_proto(nodes, inits, [value_info("image", ["N", 3, 227, 227])], [value_info("out", ["N", 1000])], "alt", opset=13, ir_version=8, producer="handwritten"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    out = lambda name: os.path.join(args.outdir, name)  # noqa: E731
    torch.manual_seed(args.seed)
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))

    with torch.no_grad():
        tv = torchvision.models.alexnet(weights=None) if hasattr(torchvision.models, "AlexNet_Weights") else torchvision.models.alexnet()
        tv.eval()
        x = torch.randn(2, 3, 224, 224)
        save_bin(out("torchvision.input.bin"), x)
        save_bin(out("torchvision.logits.bin"), tv(x))
        export(tv, x, out("torchvision.onnx"))
        del tv

        paper = PaperAlexNet().eval()
        # fp16-exact weights, so the FLOAT16 copy of fc6 in paper_zoo.onnx is lossless.
        for p in paper.parameters():
            p.copy_(p.half().float())
        x = torch.randn(2, 3, 227, 227) * 2
        save_bin(out("paper.input.bin"), x)
        logits = paper(x)
        save_bin(out("paper.logits.bin"), logits)
        export(paper, x, out("paper_torch.onnx"))
        zoo_style(paper, out("paper_zoo.onnx"))
        alt_style(paper, out("paper_alt.onnx"))
        del paper

        export(ResNetish().eval(), torch.randn(1, 3, 16, 16), out("resnetish.onnx"))
        export(nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 32), nn.ReLU(), nn.Linear(32, 10)).eval(), torch.randn(1, 3, 8, 8), out("mlp.onnx"))
        export(PaperAlexNet(num_classes=4, caffenet_order=True, hidden=8).eval(), torch.randn(1, 3, 227, 227), out("caffenet.onnx"))

    print(f"wrote {args.outdir}: torch {torch.__version__}, torchvision {torchvision.__version__}, paper logits |max| {logits.abs().max().item():.4f}", file=sys.stderr)


if __name__ == "__main__":
    main()
