#!/usr/bin/env python3
"""PyTorch's answers for the zoo ops, as JSON on stdout (read by test/zoo-ops.test.ts).

Every case carries its inputs (float64 values, which the test also rounds to float32) and, for each dtype,
torch's outputs and the gradients of L = sum(output * r) for a fixed r. Cases: batch_norm in training and
eval (rank 2, 3 and 4, affine or not, running statistics updated with momentum), nn.BatchNorm2d over several
training steps with momentum=None then eval, track_running_stats=False in eval, hardtanh / relu6 / clamp at
exactly their bounds, and max / average pooling with ceil_mode (stride < kernel, padding, count_include_pad
either way).

Usage: python3 zoo_ops_fixture.py > fixture.json
"""
import json
import sys

import torch
import torch.nn.functional as F

DTYPES = {"float64": torch.float64, "float32": torch.float32}


def values(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def leaf(t, dt):
    return t.detach().to(dt).clone().requires_grad_()


def rand(gen, *shape, low=-2.0, high=2.0):
    return torch.rand(*shape, generator=gen, dtype=torch.float64) * (high - low) + low


def batch_norm_case(gen, name, shape, training, affine, momentum, stats=True):
    c = shape[1]
    x = rand(gen, *shape) * 1.5 + 0.3
    w = rand(gen, c, low=0.5, high=1.5) if affine else None
    b = rand(gen, c, low=-0.5, high=0.5) if affine else None
    rm = rand(gen, c, low=-0.5, high=0.5) if stats else None
    rv = rand(gen, c, low=0.5, high=2.0) if stats else None
    r = rand(gen, *shape, low=-1.0, high=1.0)
    case = {
        "name": name,
        "op": "batchNorm",
        "shape": list(shape),
        "training": training,
        "momentum": momentum,
        "inputs": {
            "x": values(x),
            "weight": values(w) if affine else None,
            "bias": values(b) if affine else None,
            "runningMean": values(rm) if stats else None,
            "runningVar": values(rv) if stats else None,
            "r": values(r),
        },
        "out": {},
    }
    for dname, dt in DTYPES.items():
        xt = leaf(x, dt)
        wt = leaf(w, dt) if affine else None
        bt = leaf(b, dt) if affine else None
        rmt = rm.to(dt).clone() if stats else None
        rvt = rv.to(dt).clone() if stats else None
        y = F.batch_norm(xt, rmt, rvt, wt, bt, training=training, momentum=momentum, eps=1e-5)
        (y * r.to(dt)).sum().backward()
        case["out"][dname] = {
            "y": values(y),
            "dx": values(xt.grad),
            "dweight": values(wt.grad) if affine else None,
            "dbias": values(bt.grad) if affine else None,
            "runningMean": values(rmt) if stats else None,
            "runningVar": values(rvt) if stats else None,
        }
    return case


def bn_module_case(gen, name, shape, momentum, steps, track=True):
    batches = [rand(gen, *shape) * 2 + 0.5 for _ in range(steps)]
    probe = rand(gen, *shape)
    w = torch.linspace(0.5, 1.5, shape[1], dtype=torch.float64)
    b = torch.linspace(-0.2, 0.2, shape[1], dtype=torch.float64)
    case = {
        "name": name,
        "op": "BatchNorm2d",
        "shape": list(shape),
        "momentum": momentum,
        "trackRunningStats": track,
        "inputs": {"batches": [values(t) for t in batches], "probe": values(probe), "weight": values(w), "bias": values(b)},
        "out": {},
    }
    for dname, dt in DTYPES.items():
        bn = torch.nn.BatchNorm2d(shape[1], momentum=momentum, track_running_stats=track).to(dt)
        with torch.no_grad():
            bn.weight.copy_(w.to(dt))
            bn.bias.copy_(b.to(dt))
        bn.train()
        train_out = [values(bn(t.to(dt))) for t in batches]
        bn.eval()
        out = {"train": train_out, "eval": values(bn(probe.to(dt)))}
        if track:
            out["runningMean"] = values(bn.running_mean)
            out["runningVar"] = values(bn.running_var)
            out["numBatchesTracked"] = int(bn.num_batches_tracked)
        case["out"][dname] = out
    return case


def activation_case(name, fn, xs):
    case = {"name": name, "op": name, "inputs": {"x": xs}, "out": {}}
    for dname, dt in DTYPES.items():
        x = torch.tensor(xs, dtype=dt, requires_grad=True)
        y = fn(x)
        y.sum().backward()
        case["out"][dname] = {"y": values(y), "dx": values(x.grad)}
    return case


def pool_case(gen, name, kind, shape, k, s, p, ceil, include_pad=True):
    x = rand(gen, *shape)
    with torch.no_grad():
        if kind == "max":
            y0 = F.max_pool2d(x, k, s, p, ceil_mode=ceil)
        else:
            y0 = F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=include_pad)
    r = rand(gen, *y0.shape, low=-1.0, high=1.0)
    case = {
        "name": name,
        "op": kind + "Pool2d",
        "shape": list(shape),
        "kernel": k,
        "stride": s,
        "padding": p,
        "ceilMode": ceil,
        "countIncludePad": include_pad,
        "outShape": list(y0.shape),
        "inputs": {"x": values(x), "r": values(r)},
        "out": {},
    }
    for dname, dt in DTYPES.items():
        xt = leaf(x, dt)
        if kind == "max":
            y = F.max_pool2d(xt, k, s, p, ceil_mode=ceil)
        else:
            y = F.avg_pool2d(xt, k, s, p, ceil_mode=ceil, count_include_pad=include_pad)
        (y * r.to(dt)).sum().backward()
        case["out"][dname] = {"y": values(y), "dx": values(xt.grad)}
    return case


def main():
    gen = torch.Generator().manual_seed(20261201)
    cases = [
        batch_norm_case(gen, "bn train rank 4 affine m=0.1", (3, 4, 5, 6), True, True, 0.1),
        batch_norm_case(gen, "bn train rank 2 no affine m=0.3", (6, 3), True, False, 0.3),
        batch_norm_case(gen, "bn train rank 3 affine m=0.25", (4, 3, 7), True, True, 0.25),
        batch_norm_case(gen, "bn train rank 4 no running stats", (2, 3, 4, 4), True, True, 0.1, stats=False),
        batch_norm_case(gen, "bn eval rank 4 affine", (3, 4, 5, 6), False, True, 0.1),
        batch_norm_case(gen, "bn eval rank 2 no affine", (5, 3), False, False, 0.1),
        bn_module_case(gen, "BatchNorm2d momentum None, 3 steps", (4, 3, 3, 5), None, 3),
        bn_module_case(gen, "BatchNorm2d momentum 0.2, 2 steps", (2, 5, 4, 4), 0.2, 2),
        bn_module_case(gen, "BatchNorm2d track_running_stats False", (3, 2, 3, 3), 0.1, 1, track=False),
        activation_case("hardtanh", lambda x: F.hardtanh(x, -1.0, 1.0), [-3.0, -1.0, -0.5, 0.0, 0.25, 1.0, 2.0]),
        activation_case("hardtanh(-2, 3)", lambda x: F.hardtanh(x, -2.0, 3.0), [-2.5, -2.0, -1.0, 3.0, 2.5, 4.0]),
        activation_case("relu6", F.relu6, [-1.0, 0.0, 0.5, 3.0, 6.0, 6.5]),
        activation_case("clamp(-1, 1)", lambda x: x.clamp(-1.0, 1.0), [-3.0, -1.0, -0.5, 0.0, 1.0, 2.0]),
        activation_case("clamp(min=0)", lambda x: x.clamp(min=0.0), [-1.0, 0.0, 2.0]),
        activation_case("clamp(max=0)", lambda x: x.clamp(max=0.0), [-1.0, 0.0, 2.0]),
        activation_case("clamp(0.5, 0.5)", lambda x: x.clamp(0.5, 0.5), [0.0, 0.5, 1.0]),
        pool_case(gen, "max k3 s2 ceil", "max", (2, 2, 6, 7), 3, 2, 0, True),
        pool_case(gen, "max k3 s2 p1 ceil", "max", (1, 2, 8, 6), 3, 2, 1, True),
        pool_case(gen, "avg k3 s2 ceil include_pad", "avg", (2, 2, 6, 7), 3, 2, 0, True, True),
        pool_case(gen, "avg k3 s2 ceil exclude_pad", "avg", (2, 2, 6, 7), 3, 2, 0, True, False),
        pool_case(gen, "avg k3 s2 p1 ceil include_pad", "avg", (1, 3, 8, 6), 3, 2, 1, True, True),
        pool_case(gen, "avg k3 s2 p1 ceil exclude_pad", "avg", (1, 3, 8, 6), 3, 2, 1, True, False),
        pool_case(gen, "avg k2 s2 ceil include_pad (odd input)", "avg", (1, 2, 5, 7), 2, 2, 0, True, True),
        pool_case(gen, "avg k3 s1 p1 floor include_pad", "avg", (1, 2, 5, 5), 3, 1, 1, False, True),
        pool_case(gen, "avg k[3,2] s[2,1] p[1,0] ceil include_pad", "avg", (1, 2, 6, 5), (3, 2), (2, 1), (1, 0), True, True),
        # Kernels larger than the (padded) input, which ceil mode allows (GoogLeNet's last pools at small inputs).
        pool_case(gen, "max k2 s2 ceil over 1x1", "max", (2, 3, 1, 1), 2, 2, 0, True),
        pool_case(gen, "max k3 s2 ceil over 2x2", "max", (1, 2, 2, 2), 3, 2, 0, True),
        pool_case(gen, "avg k2 s2 ceil include_pad over 1x1", "avg", (1, 2, 1, 1), 2, 2, 0, True, True),
        pool_case(gen, "avg k3 s2 p1 ceil include_pad over 2x2", "avg", (1, 2, 2, 2), 3, 2, 1, True, True),
        pool_case(gen, "avg k3 s2 ceil exclude_pad over 2x3", "avg", (1, 1, 2, 3), 3, 2, 0, True, False),
    ]
    json.dump({"torch": torch.__version__, "cases": cases}, sys.stdout)


if __name__ == "__main__":
    main()
