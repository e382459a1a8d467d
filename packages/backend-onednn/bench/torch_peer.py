#!/usr/bin/env python3
"""The PyTorch side of bench/alexnet.mjs, run by it with /usr/bin/python3 (Debian's python3-torch).

Loads the weights the Node script wrote (raw float32, index.json), exports the torchvision AlexNet to ONNX
for onnxruntime-node, and times forward and one SGD training step per model with the same batch, weights,
threads and recipe (SGD momentum 0.9, cross-entropy).

With --serve (what the Node script uses) it prints one JSON line (versions, threads, both models' forward
logits) and then answers commands on stdin, one JSON line each, so that the Node script can interleave its
peers round by round: `forward torchvision 3` / `train reduced 20` → {"ms": mean ms per call over 3 / 20
calls, after one untimed call}; `quit` ends. Without --serve it times everything once and prints one object.
"""
import sys
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torchvision


def reduced_alexnet(num_classes: int) -> nn.Module:
    """tessera's `reduced` AlexNet (packages/alexnet/src/model.ts) at width 1, 1×28×28 input, same module indices."""
    lrn = lambda: nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)
    pool = lambda: nn.MaxPool2d(3, stride=2, padding=1)
    m = nn.Module()
    m.features = nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), lrn(), pool(),
        nn.Conv2d(16, 32, 5, padding=2, groups=2), nn.ReLU(), lrn(), pool(),
        nn.Conv2d(32, 48, 3, padding=1), nn.ReLU(),
        nn.Conv2d(48, 48, 3, padding=1, groups=2), nn.ReLU(),
        nn.Conv2d(48, 32, 3, padding=1, groups=2), nn.ReLU(), pool(),
    )
    m.classifier = nn.Sequential(
        nn.Linear(32 * 4 * 4, 256), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(256, 256), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(256, num_classes),
    )
    m.forward = lambda x: m.classifier(torch.flatten(m.features(x), 1))
    return m


def load(model: nn.Module, directory: str, name: str) -> None:
    index = json.load(open(os.path.join(directory, f"{name}.json")))
    blob = np.fromfile(os.path.join(directory, f"{name}.bin"), dtype=np.float32)
    state = {k: torch.from_numpy(blob[v["offset"]:v["offset"] + int(np.prod(v["shape"]))].reshape(v["shape"]).copy()) for k, v in index.items()}
    model.load_state_dict(state, strict=True)


def timed(fn, iters: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - start) / iters * 1000


class Peer:
    """One model with its input, labels and optimizer; forward() and train() time `iters` calls after a warm-up."""

    def __init__(self, model: nn.Module, x: torch.Tensor, labels: torch.Tensor):
        self.model, self.x, self.labels = model, x, labels
        self.opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        self.loss_fn = nn.CrossEntropyLoss()

    def logits(self) -> list:
        self.model.eval()
        with torch.no_grad():
            return self.model(self.x).flatten()[:64].tolist()

    def forward(self, iters: int) -> float:
        self.model.eval()
        with torch.no_grad():
            return timed(lambda: self.model(self.x), iters)

    def train(self, iters: int) -> float:
        self.model.train()

        def step():
            self.opt.zero_grad()
            self.loss_fn(self.model(self.x), self.labels).backward()
            self.opt.step()

        return timed(step, iters)


def serve(peers: dict, info: dict) -> None:
    print(json.dumps({**info, **{name: {"logits": p.logits()} for name, p in peers.items()}}), flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        op, name, iters = words[0], words[1], int(words[2])
        peer = peers[name]
        ms = peer.forward(iters) if op == "forward" else peer.train(iters)
        print(json.dumps({"ms": ms}), flush=True)


def bench(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, iters: int, train_iters: int) -> dict:
    model.eval()
    with torch.no_grad():
        logits = model(x)
        fwd = timed(lambda: model(x), iters)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), labels).backward()
        opt.step()

    train = timed(step, train_iters)
    return {"forwardMs": fwd, "trainMs": train, "logits": logits.flatten()[:64].tolist()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--train-iters", type=int, default=2)
    ap.add_argument("--export-only", action="store_true")
    ap.add_argument("--serve", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    d = a.dir
    meta = json.load(open(os.path.join(d, "meta.json")))
    tv = torchvision.models.alexnet()
    load(tv, d, "torchvision")
    tv.eval()
    xb = np.fromfile(os.path.join(d, "input-torchvision.bin"), dtype=np.float32).reshape(meta["torchvision"]["input"])
    x = torch.from_numpy(xb)
    torch.onnx.export(tv, x, os.path.join(d, "alexnet.onnx"), input_names=["input"], output_names=["logits"], opset_version=13)
    if a.export_only:
        print(json.dumps({"exported": True}))
        return
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": torch.__config__.show().count("MKL") and "mkl" or "generic"}
    labels = torch.from_numpy(np.array(meta["torchvision"]["labels"], dtype=np.int64))
    if a.serve:
        red = reduced_alexnet(meta["reduced"]["classes"])
        load(red, d, "reduced")
        xr = torch.from_numpy(np.fromfile(os.path.join(d, "input-reduced.bin"), dtype=np.float32).reshape(meta["reduced"]["input"]))
        lr = torch.from_numpy(np.array(meta["reduced"]["labels"], dtype=np.int64))
        serve({"torchvision": Peer(tv, x, labels), "reduced": Peer(red, xr, lr)}, out)
        return
    out["torchvision"] = bench(tv, x, labels, a.iters, a.train_iters)
    red = reduced_alexnet(meta["reduced"]["classes"])
    load(red, d, "reduced")
    xr = torch.from_numpy(np.fromfile(os.path.join(d, "input-reduced.bin"), dtype=np.float32).reshape(meta["reduced"]["input"]))
    lr = torch.from_numpy(np.array(meta["reduced"]["labels"], dtype=np.int64))
    out["reduced"] = bench(red, xr, lr, a.iters * 5, a.train_iters * 10)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
