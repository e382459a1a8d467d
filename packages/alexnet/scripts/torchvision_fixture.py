#!/usr/bin/env python3
"""Exports a seeded torchvision AlexNet, a batch, its logits, loss and every parameter gradient to safetensors.

The tessera test (test/torchvision.test.ts) loads the weights into alexnet({variant: 'torchvision'}), runs the
same batch and compares the logits and each gradient. Written by hand (struct + json) so that it needs only
PyTorch and torchvision (Debian: python3-torch, python3-torchvision), not the safetensors package.

usage: python3 scripts/torchvision_fixture.py OUT.safetensors [--batch 2] [--seed 0]
"""
import argparse
import json
import struct
import sys

import torch
import torchvision


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        dtype = {torch.float32: "F32", torch.int32: "I32", torch.float64: "F64"}[t.dtype]
        data = t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.backends.cudnn.deterministic = True
    model = torchvision.models.alexnet(weights=None) if hasattr(torchvision.models, "AlexNet_Weights") else torchvision.models.alexnet()
    # Eval mode: dropout masks are framework-specific random streams; everything else is compared exactly.
    model.eval()
    x = torch.randn(args.batch, 3, 224, 224)
    labels = torch.randint(0, 1000, (args.batch,), dtype=torch.int64)
    logits = model(x)
    loss = torch.nn.functional.cross_entropy(logits, labels)
    loss.backward()
    tensors = {f"param.{k}": v for k, v in model.state_dict().items()}
    tensors.update({f"grad.{k}": p.grad for k, p in model.named_parameters()})
    tensors["input"] = x
    tensors["labels"] = labels.to(torch.int32)
    tensors["logits"] = logits
    tensors["loss"] = loss.reshape(1)
    write_safetensors(args.out, tensors, {"torch": torch.__version__, "torchvision": torchvision.__version__, "seed": str(args.seed)})
    print(f"wrote {args.out}: torch {torch.__version__}, torchvision {torchvision.__version__}, loss {loss.item():.6f}", file=sys.stderr)


if __name__ == "__main__":
    main()
