#!/usr/bin/env python3
"""ONNX and torch.save fixtures for test/onnx.test.ts (the ONNX interpreter and loadTorch on the zoo).

    onnx_zoo.py OUTDIR

For each torchvision model below (seed 0, eval mode, perturbed as `perturb` says) writes into OUTDIR:
  NAME.onnx         torch.onnx.export (opset 13) of the model at the input shape listed
  NAME.pth          torch.save(model.state_dict()), as torchvision publishes weights (not for alexnet: 244 MB, and
                    packages/tensor/test/torch-load.test.ts reads that one bit for bit)
  NAME.safetensors  the same state_dict as safetensors (struct + json, see save_safetensors; not for alexnet either)
  NAME.input.bin    the input, float32 little-endian
  NAME.logits.bin   PyTorch's eval-mode output for it, float32
plus ops_opsetN.onnx / ops.input.bin / ops.logits.bin for a small module exercising the operators torch emits
outside the zoo (BatchNormalization on its own, Pad, Pow, Transpose, Reshape from
Shape/Gather/Unsqueeze/Concat, ReduceMean, Sub/Div by constants, Softmax/LogSoftmax, Squeeze/Unsqueeze, Clip)
exported at opsets 11, 13 and 17. Prints a JSON line describing the files.
"""
import json
import os
import struct
import sys
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

warnings.filterwarnings("ignore")

MODELS = [
    ("alexnet", [1, 3, 224, 224], {}),
    ("resnet18", [2, 3, 64, 64], {}),
    ("resnet50", [1, 3, 32, 32], {}),
    ("squeezenet1_1", [2, 3, 64, 64], {}),
    ("mobilenet_v2", [2, 3, 64, 64], {}),
    ("googlenet", [2, 3, 64, 64], {"aux_logits": False, "init_weights": True}),
]


class Ops(nn.Module):
    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm2d(3)
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 5 * 4, 10)

    def forward(self, x):
        x = self.bn(x)
        x = (x - 0.25) / 1.5
        x = F.relu6(self.conv(x))
        x = F.pad(x, (1, 0, 2, 1), value=0.5)
        x = F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True)
        x = F.avg_pool2d(x, 2, stride=2, ceil_mode=True, count_include_pad=False) * x.new_tensor(2.0).pow(0.5)
        x = x.transpose(2, 3)
        m = x.mean(dim=(2, 3), keepdim=True)
        x = x - m * 0.5
        x = x.reshape(x.size(0), -1)
        y = self.fc(x).unsqueeze(1)
        y = torch.clamp(y, -2.0, 3.0).squeeze(1)
        return F.log_softmax(y, dim=1) + F.softmax(y, dim=-1)


def perturb(name, m):
    """Non-trivial eval-mode statistics for every BatchNorm (export folds them into the convolutions, so default
    statistics would test nothing), and for GoogLeNet He-initialised convolutions: torchvision's truncated-normal
    std-0.01 init shrinks its features below float32 resolution, leaving logits equal to the fc bias."""
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 2.0)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
            elif isinstance(mod, nn.Conv2d) and name == "googlenet":
                nn.init.kaiming_normal_(mod.weight, nonlinearity="relu")


ST_DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def save_safetensors(path, state_dict):
    """The safetensors layout (u64 header length, JSON header, packed little-endian data), written from the format
    description with struct + json: `safetensors.torch.save_file(model.state_dict(), path)` without the package."""
    header, blobs, offset = {}, [], 0
    for name, t in state_dict.items():
        b = t.detach().contiguous().numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)


def dump(path, t):
    t.detach().contiguous().numpy().astype("<f4").tofile(path)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    desc = {}
    for name, shape, kw in ([] if "--ops-only" in sys.argv else MODELS):
        torch.manual_seed(0)
        m = getattr(torchvision.models, name)(**kw).eval()
        perturb(name, m)
        x = torch.randn(*shape)
        with torch.no_grad():
            y = m(x)
        torch.onnx.export(m, x, os.path.join(out, name + ".onnx"), opset_version=13)
        if name != "alexnet":  # its .pth is checked bit for bit in packages/tensor/test/torch-load.test.ts
            torch.save(m.state_dict(), os.path.join(out, name + ".pth"))
            save_safetensors(os.path.join(out, name + ".safetensors"), m.state_dict())
        dump(os.path.join(out, name + ".input.bin"), x)
        dump(os.path.join(out, name + ".logits.bin"), y)
        desc[name] = {"input": shape, "output": list(y.shape), "scale": float(y.abs().max()),
                      "bias_free_scale": float((y - m.fc.bias).abs().max()) if hasattr(m, "fc") and isinstance(m.fc, nn.Linear) else None}
    torch.manual_seed(0)
    m = Ops().eval()
    with torch.no_grad():
        m.bn.running_mean.uniform_(-0.5, 0.5)
        m.bn.running_var.uniform_(0.5, 2.0)
        m.bn.weight.uniform_(0.5, 1.5)
        m.bn.bias.uniform_(-0.2, 0.2)
    x = torch.randn(2, 3, 13, 13)
    with torch.no_grad():
        y = m(x)
    for opset in (11, 13, 17):
        torch.onnx.export(m, x, os.path.join(out, f"ops_opset{opset}.onnx"), opset_version=opset)
    dump(os.path.join(out, "ops.input.bin"), x)
    dump(os.path.join(out, "ops.logits.bin"), y)
    desc["ops"] = {"input": list(x.shape), "output": list(y.shape), "opsets": [11, 13, 17]}
    print(json.dumps({"torch": torch.__version__, "models": desc}))


if __name__ == "__main__":
    main()
