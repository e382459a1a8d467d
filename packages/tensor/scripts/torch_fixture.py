#!/usr/bin/env python3
"""torch.save fixtures for test/torch-load.test.ts (loadTorch, src/io/torch/).

    torch_fixture.py OUTDIR [--big]

Writes into OUTDIR, with PyTorch's own torch.save (zip format), and prints a JSON description: for every file,
each tensor's path, shape, the dtype tessera should load it as, and the CRC-32 of its values in that dtype
(little-endian, C order), so the test checks every element bit for bit without a second reader.

  views.pth       views: transposed, sliced with an offset, a row of a shared storage, an expanded (stride 0)
                  tensor, a 0-d tensor, an empty tensor, a non-contiguous slice of a slice
  dtypes.pth      float16, bfloat16, float64, int64, int32, int16, int8, uint8 and bool tensors
  nested.pth      {"state_dict": <small Sequential's state_dict>, "epoch": 3, "best": 0.875, "name": "run",
                   "history": [1, 2, (3, 4.5)], "none": None, "big": 2**62, "flags": {"a": True}}
  model_key.pth   {"model": <the same state_dict>, "optimizer": {"lr": 0.1}}
  legacy.pth      the views and dtypes tensors, saved in the legacy (pre-1.6) format: _use_new_zipfile_serialization=False
  deflated.pth    views.pth re-packed with deflate compression (torch itself writes stored entries)
  int64_big.pth   {"x": int64 tensor holding 2**40}   (outside int32: must be refused)
  evil.pth        a pickle whose object reduces to os.system (must be refused, never run)
  with --big:
  resnet18.pth    torchvision.models.resnet18() (seed 0) state_dict, as torchvision publishes its weights
  alexnet.pth     torchvision.models.alexnet() (seed 0) state_dict
"""
import json
import os
import sys
import zipfile
import zlib

import numpy as np
import torch
import torchvision

TESSERA = {
    torch.float32: ("float32", np.float32), torch.float16: ("float32", np.float32), torch.bfloat16: ("float32", np.float32),
    torch.float64: ("float64", np.float64), torch.int64: ("int32", np.int32), torch.int32: ("int32", np.int32),
    torch.int16: ("int32", np.int32), torch.int8: ("int32", np.int32), torch.uint8: ("int32", np.int32),
    torch.bool: ("int32", np.int32),
}


def describe(obj, path=""):
    out = []
    if isinstance(obj, torch.Tensor):
        name, npt = TESSERA[obj.dtype]
        a = obj.detach().to(torch.float32 if obj.dtype in (torch.float16, torch.bfloat16) else obj.dtype)
        a = np.ascontiguousarray(a.numpy().astype(npt))
        out.append({"path": path, "shape": list(obj.shape), "dtype": name, "from": str(obj.dtype).replace("torch.", ""),
                    "crc": zlib.crc32(a.astype(a.dtype.newbyteorder("<")).tobytes()) & 0xFFFFFFFF,
                    "first": [float(v) for v in a.reshape(-1)[:4]]})
    elif isinstance(obj, dict):
        for k, v in obj.items():
            out += describe(v, f"{path}.{k}" if path else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            out += describe(v, f"{path}[{i}]")
    return out


class Evil:
    def __reduce__(self):
        return (os.system, ("echo tessera-pwned > /dev/null",))


def main():
    out = sys.argv[1]
    big = "--big" in sys.argv
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    files = {}

    def save(name, obj):
        torch.save(obj, os.path.join(out, name))
        files[name] = describe(obj)

    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) * 0.5 - 3
    shared = torch.randn(5, 3)
    save("views.pth", {
        "base": base,
        "transposed": base.t(),
        "offset_slice": base[1:3, 2:5],
        "shared": shared,
        "shared_row": shared[2],
        "shared_col": shared[:, 1],
        "expanded": torch.randn(3, 1).expand(3, 4),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 3),
        "step2": base[::2, 1::2],
    })
    views = torch.load(os.path.join(out, "views.pth"))
    save("dtypes.pth", {
        "f16": torch.tensor([1.0, -2.5, 65504.0, 6e-8, 0.1], dtype=torch.float16),
        "bf16": torch.tensor([1.0, -3.140625, 1e30, 0.1], dtype=torch.bfloat16),
        "f64": torch.tensor([0.1, 1e300, -2.0], dtype=torch.float64),
        "i64": torch.tensor([0, -1, 2**31 - 1, -(2**31)], dtype=torch.int64),
        "i32": torch.tensor([7, -8], dtype=torch.int32),
        "i16": torch.tensor([-300, 300], dtype=torch.int16),
        "i8": torch.tensor([-128, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
    })
    small = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4, 2))
    sd = small.state_dict()
    save("nested.pth", {"state_dict": sd, "epoch": 3, "best": 0.875, "name": "run", "history": [1, 2, (3, 4.5)],
                        "none": None, "big": 2**62, "flags": {"a": True}})
    save("model_key.pth", {"model": sd, "optimizer": {"lr": 0.1}})
    legacy = {"views": views, "dtypes": torch.load(os.path.join(out, "dtypes.pth")), "epoch": 7}
    torch.save(legacy, os.path.join(out, "legacy.pth"), _use_new_zipfile_serialization=False)
    files["legacy.pth"] = describe(legacy)
    torch.save({"x": torch.tensor([2**40])}, os.path.join(out, "int64_big.pth"))
    torch.save({"weights": Evil()}, os.path.join(out, "evil.pth"))
    with zipfile.ZipFile(os.path.join(out, "views.pth")) as src, zipfile.ZipFile(os.path.join(out, "deflated.pth"), "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    files["deflated.pth"] = files["views.pth"]
    if big:
        torch.manual_seed(0)
        save("resnet18.pth", torchvision.models.resnet18().state_dict())
        torch.manual_seed(0)
        save("alexnet.pth", torchvision.models.alexnet().state_dict())
    print(json.dumps({"torch": torch.__version__, "files": files}))


if __name__ == "__main__":
    main()
