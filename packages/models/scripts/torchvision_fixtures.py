#!/usr/bin/env python3
"""Exports, for each zoo model, PyTorch's own network (torchvision 0.14's; LeNet-5 and ZFNet written here in
PyTorch, as packages/models/src defines them) with a seed: its state dict under torch's keys, a batch, the eval-mode
logits, and after one train-mode forward + backward with cross-entropy (GoogLeNet: + 0.3 x both auxiliary losses)
the loss, every parameter's gradient and the BatchNorm buffers — as safetensors, written with struct + json so that
only torch and torchvision are needed (Debian python3-torch, python3-torchvision).

BatchNorm weights, biases and running statistics are drawn at random (seeded) before the export, so eval mode
exercises them (torchvision initialises them to 1, 0, 0, 1). Dropout is built with p = 0 (the masks are each
framework's own random streams); eval mode ignores it anyway.

Three models are checked in float64 (the reference computed in float64 from the float32 weights, stored rounded to
float32, exact to 6e-8; tessera then runs in float64 too): at batch 2 with 1-4 pixel maps in the last stages their
train-mode BatchNorm backward is so ill-conditioned that torch's own float32 gradients differ from its float64
ones far beyond the 1e-3 tolerance (measured with this script's seeds: resnet50 11 %, googlenet 22 %,
mobilenet_v2 2.3e-4; resnet18/34, vgg*_bn and the rest stay below 6e-5), so a float32 comparison would measure
rounding, not the implementation. Their float32 eval-mode logits are exported too ("logits32"): that path is well
conditioned.

usage:
  torchvision_fixtures.py OUT_DIR NAME...   writes OUT_DIR/NAME.safetensors for each, one JSON line each on stdout
  torchvision_fixtures.py --serve OUT_DIR   reads model names from stdin, one per line, answers one JSON line each
                                            (the test asks for the next model while it checks the current one)
  torchvision_fixtures.py --macs SIDE...    one JSON line: each model's conv + linear multiply-adds for one image
                                            at each SIDE x SIDE (forward hooks; the peer of listModels' FLOPs)
"""
import json
import os
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    offset = 0
    order = sorted(tensors)
    for name in order:
        t = tensors[name]
        nbytes = t.numel() * t.element_size()
        dtype = {torch.float32: "F32", torch.int32: "I32", torch.float64: "F64"}[t.dtype]
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    tmp = path + ".partial"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for name in order:
            f.write(tensors[name].detach().contiguous().cpu().numpy().tobytes())
    os.replace(tmp, path)


class LeNet5(nn.Module):
    """packages/models/src/lenet.ts in PyTorch: tanh, 2x2 average pools, C5 as a 5x5 convolution."""

    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        self.c1 = nn.Conv2d(in_channels, 6, 5)
        self.s2 = nn.AvgPool2d(2, 2)
        self.c3 = nn.Conv2d(6, 16, 5)
        self.s4 = nn.AvgPool2d(2, 2)
        self.c5 = nn.Conv2d(16, 120, 5)
        self.f6 = nn.Linear(120, 84)
        self.output = nn.Linear(84, num_classes)

    def forward(self, x):
        x = self.s2(torch.tanh(self.c1(x)))
        x = self.s4(torch.tanh(self.c3(x)))
        x = torch.flatten(torch.tanh(self.c5(x)), 1)
        return self.output(torch.tanh(self.f6(x)))


class ZFNet(nn.Module):
    """packages/models/src/zfnet.ts in PyTorch (Zeiler & Fergus 2013, Fig. 3, in torchvision AlexNet's layout)."""

    def __init__(self, num_classes=1000, in_channels=3, dropout=0.5):
        super().__init__()
        lrn = lambda: nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)
        pool = lambda: nn.MaxPool2d(3, 2, ceil_mode=True)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 96, 7, stride=2, padding=1), nn.ReLU(inplace=True), pool(), lrn(),
            nn.Conv2d(96, 256, 5, stride=2), nn.ReLU(inplace=True), pool(), lrn(),
            nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True), pool(),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(256 * 36, 4096), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def with_in_channels(model, attr_path, in_channels):
    """Replaces the first convolution with one taking `in_channels` (tessera's inChannels option)."""
    parent = model
    parts = attr_path.split(".")
    for p in parts[:-1]:
        parent = parent[int(p)] if p.isdigit() else getattr(parent, p)
    old = parent[int(parts[-1])] if parts[-1].isdigit() else getattr(parent, parts[-1])
    new = nn.Conv2d(in_channels, old.out_channels, old.kernel_size, old.stride, old.padding, old.dilation, old.groups, old.bias is not None)
    nn.init.kaiming_normal_(new.weight, mode="fan_out", nonlinearity="relu")
    if parts[-1].isdigit():
        parent[int(parts[-1])] = new
    else:
        setattr(parent, parts[-1], new)
    return model


M = torchvision.models
# name: (builder, tessera options, input [c, h, w])
SPECS = {
    "lenet5": (lambda: LeNet5(10), {"numClasses": 10}, [1, 32, 32]),
    "zfnet": (lambda: ZFNet(10, dropout=0.0), {"numClasses": 10, "dropout": 0}, [3, 64, 64]),
    "alexnet": (lambda: M.alexnet(num_classes=10, dropout=0.0), {"numClasses": 10, "dropout": 0}, [3, 224, 224]),
    "vgg11": (lambda: M.vgg11(num_classes=10, dropout=0.0), {"numClasses": 10, "dropout": 0}, [3, 32, 32]),
    "vgg11_bn": (lambda: M.vgg11_bn(num_classes=10, dropout=0.0), {"numClasses": 10, "dropout": 0}, [3, 32, 32]),
    "vgg16": (lambda: M.vgg16(num_classes=10, dropout=0.0), {"numClasses": 10, "dropout": 0}, [3, 32, 32]),
    "vgg16_bn": (lambda: M.vgg16_bn(num_classes=10, dropout=0.0), {"numClasses": 10, "dropout": 0}, [3, 32, 32]),
    "resnet18": (lambda: with_in_channels(M.resnet18(num_classes=10), "conv1", 1), {"numClasses": 10, "inChannels": 1}, [1, 64, 64]),
    "resnet34": (lambda: M.resnet34(num_classes=10), {"numClasses": 10}, [3, 64, 64]),
    "resnet50": (lambda: M.resnet50(num_classes=10), {"numClasses": 10}, [3, 64, 64]),
    "squeezenet1_1": (lambda: M.squeezenet1_1(num_classes=10, dropout=0.0), {"numClasses": 10, "dropout": 0}, [3, 64, 64]),
    "mobilenet_v2": (lambda: M.mobilenet_v2(num_classes=10, dropout=0.0), {"numClasses": 10, "dropout": 0}, [3, 64, 64]),
    "googlenet": (
        lambda: M.googlenet(num_classes=10, aux_logits=True, transform_input=True, init_weights=True, dropout=0.0, dropout_aux=0.0),
        {"numClasses": 10, "transformInput": True, "dropout": 0, "dropoutAux": 0},
        [3, 64, 64],
    ),
}


FLOAT64 = {"resnet50", "mobilenet_v2", "googlenet"}


def export(name, out_dir, seed=0, batch=2):
    t0 = time.time()
    build, options, chw = SPECS[name]
    torch.manual_seed(seed)
    model = build()
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.normal_(0.0, 0.1, generator=g)
                m.running_mean.normal_(0.0, 0.1, generator=g)
                m.running_var.uniform_(0.5, 1.5, generator=g)
    x = torch.randn(batch, *chw, generator=g)
    labels = torch.randint(0, options["numClasses"], (batch,), generator=g)
    tensors = {}
    for k, v in model.state_dict().items():
        tensors[f"param.{k}"] = v.to(torch.int32) if v.dtype == torch.int64 else v.clone()
    model.eval()
    with torch.no_grad():
        tensors["logits32"] = model(x)
    f64 = name in FLOAT64
    if f64:
        model = model.double()
        x = x.double()
        with torch.no_grad():
            tensors["logits"] = model(x)
    else:
        tensors["logits"] = tensors["logits32"]
    model.train()
    out = model(x)
    if name == "googlenet":
        loss = F.cross_entropy(out.logits, labels) + 0.3 * (F.cross_entropy(out.aux_logits1, labels) + F.cross_entropy(out.aux_logits2, labels))
        train_logits = out.logits
    else:
        loss = F.cross_entropy(out, labels)
        train_logits = out
    loss.backward()
    for k, p in model.named_parameters():
        tensors[f"grad.{k}"] = p.grad
    for k, b in model.named_buffers():
        tensors[f"after.{k}"] = b.to(torch.int32) if b.dtype == torch.int64 else b
    tensors["input"] = x.float()
    tensors["labels"] = labels.to(torch.int32)
    tensors["train_logits"] = train_logits
    tensors["loss"] = loss.detach().reshape(1)
    tensors = {k: v.float() if v.dtype == torch.float64 else v for k, v in tensors.items()}
    params = sum(p.numel() for p in model.parameters())
    path = os.path.join(out_dir, f"{name}.safetensors")
    write_safetensors(path, tensors, {"torch": torch.__version__, "torchvision": torchvision.__version__, "model": name, "seed": str(seed)})
    return {"ready": name, "file": path, "params": params, "input": [batch, *chw], "options": options, "float64": f64, "seconds": round(time.time() - t0, 3)}


def count_macs(model, chw):
    """Multiply-adds of every Conv2d and Linear in one eval-mode forward of a [1, *chw] batch."""
    total = [0]

    def hook(m, inputs, out):
        if isinstance(m, nn.Conv2d):
            total[0] += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        else:
            total[0] += m.in_features * m.out_features * (out.numel() // m.out_features)

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *chw))
    for h in handles:
        h.remove()
    return total[0]


def macs(sides):
    builders = {
        "lenet5": lambda: LeNet5(10),
        "zfnet": lambda: ZFNet(1000),
        "alexnet": lambda: M.alexnet(),
        "vgg11": lambda: M.vgg11(),
        "vgg11_bn": lambda: M.vgg11_bn(),
        "vgg16": lambda: M.vgg16(),
        "vgg16_bn": lambda: M.vgg16_bn(),
        "resnet18": lambda: M.resnet18(),
        "resnet34": lambda: M.resnet34(),
        "resnet50": lambda: M.resnet50(),
        "squeezenet1_1": lambda: M.squeezenet1_1(),
        "mobilenet_v2": lambda: M.mobilenet_v2(),
        "googlenet": lambda: M.googlenet(aux_logits=False, init_weights=False),
    }
    # Weights do not matter for counting: skip every initialiser (VGG's would take most of the time).
    for fn in ["kaiming_normal_", "kaiming_uniform_", "normal_", "uniform_", "constant_", "zeros_", "ones_", "trunc_normal_"]:
        setattr(nn.init, fn, lambda t, *a, **k: t)
    out = {}
    for name, build in builders.items():
        model = build()
        if name == "lenet5":
            out[name] = {"32": count_macs(model, [1, 32, 32])}
        elif name == "alexnet":
            out[name] = {"224": count_macs(model, [3, 224, 224])}
        else:
            out[name] = {str(s): count_macs(model, [3, s, s]) for s in sides}
    return out


def main():
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    args = sys.argv[1:]
    if args and args[0] == "--macs":
        print(json.dumps(macs([int(a) for a in args[1:]])), flush=True)
        return
    if args and args[0] == "--serve":
        out_dir = args[1]
        print(json.dumps({"versions": {"torch": torch.__version__, "torchvision": torchvision.__version__}}), flush=True)
        for line in sys.stdin:
            name = line.strip()
            if not name:
                continue
            try:
                print(json.dumps(export(name, out_dir)), flush=True)
            except Exception as err:  # report and keep serving: one model's failure must not hide the others
                print(json.dumps({"error": name, "message": f"{type(err).__name__}: {err}"}), flush=True)
        return
    out_dir, names = args[0], args[1:] or list(SPECS)
    for name in names:
        print(json.dumps(export(name, out_dir)), flush=True)


if __name__ == "__main__":
    main()
