#!/usr/bin/env python3
"""Independent safetensors writer/reader for tessera's interop tests (test/safetensors.test.ts).

Written from the format specification with only the standard library (struct + json), so it runs wherever
python3 does. When the `safetensors` and `numpy` packages are importable it also cross-checks against the
reference implementation.

    safetensors_fixture.py write DIR    writes DIR/mixed.safetensors (every dtype tessera loads, with
                                        metadata) and DIR/native.safetensors (F64/F32/I32 only, laid out as
                                        the reference writer does), prints a JSON description of both
    safetensors_fixture.py read FILE    validates FILE strictly and prints its tensors as JSON
"""
import json
import math
import struct
import sys

SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2, "I32": 4, "U32": 4,
         "F32": 4, "F64": 8, "I64": 8, "U64": 8}
# The reference implementation's Dtype enum order; writers sort by it, descending, then by name.
ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64",
         "I64", "U64"]
FMT = {"BOOL": "?", "U8": "B", "I8": "b", "I16": "h", "U16": "H", "F16": "e", "I32": "i", "U32": "I",
       "F32": "f", "F64": "d", "I64": "q", "U64": "Q"}


def pack(dtype, values):
    if dtype == "BF16":
        # bfloat16 = the high 16 bits of the float32 (values chosen to be exact).
        return b"".join(struct.pack("<H", struct.unpack("<I", struct.pack("<f", v))[0] >> 16) for v in values)
    return struct.pack("<%d%s" % (len(values), FMT[dtype]), *values)


def unpack(dtype, raw):
    n = len(raw) // SIZES[dtype]
    if dtype == "BF16":
        return [struct.unpack("<f", struct.pack("<I", h << 16))[0] for (h,) in struct.iter_unpack("<H", raw)]
    return list(struct.unpack("<%d%s" % (n, FMT[dtype]), raw))


def serialize(tensors, metadata=None):
    """tensors: {name: (dtype, shape, values)} -> bytes, laid out like the reference writer."""
    items = sorted(tensors.items(), key=lambda kv: kv[0].encode("utf-8"))
    items.sort(key=lambda kv: ORDER.index(kv[1][0]), reverse=True)  # stable: name order within a dtype
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    blobs = []
    offset = 0
    for name, (dtype, shape, values) in items:
        blob = pack(dtype, values)
        assert len(blob) == math.prod(shape) * SIZES[dtype], name
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def parse(data):
    """Strict reader: the same checks as the reference implementation's SafeTensors::deserialize."""
    if len(data) < 8:
        raise ValueError("header too small")
    (n,) = struct.unpack("<Q", data[:8])
    if n > 100_000_000 or 8 + n > len(data):
        raise ValueError("invalid header length")

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise ValueError("duplicate key")
        return dict(pairs)

    header = json.loads(data[8:8 + n].decode("utf-8"), object_pairs_hook=no_duplicates)
    metadata = header.pop("__metadata__", None)
    entries = sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"]))
    buf = data[8 + n:]
    start = 0
    out = {}
    for name, info in entries:
        s, e = info["data_offsets"]
        if s != start or e < s:
            raise ValueError("invalid offset for %r" % name)
        if e - s != math.prod(info["shape"]) * SIZES[info["dtype"]]:
            raise ValueError("size mismatch for %r" % name)
        start = e
        out[name] = {"dtype": info["dtype"], "shape": info["shape"], "data_offsets": [s, e],
                     "values": unpack(info["dtype"], buf[s:e])}
    if start != len(buf):
        raise ValueError("metadata incomplete buffer")
    return out, metadata, n


def finite(x):
    """JSON has no inf/nan: encode them as strings."""
    if isinstance(x, float) and not math.isfinite(x):
        return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")
    return x


def describe(tensors, metadata, n):
    return {"headerBytes": n, "metadata": metadata,
            "tensors": {k: {**v, "values": [finite(x) for x in v["values"]]} for k, v in tensors.items()}}


MIXED = {
    "conv.weight": ("F32", [2, 3], [0.0, 1.5, -2.25, 3.4028234663852886e38, 1.401298464324817e-45, -0.0]),
    "double": ("F64", [3], [math.pi, -1e300, 5e-324]),
    "ints": ("I32", [2, 2], [0, -1, 2147483647, -2147483648]),
    "half": ("F16", [7], [1.0, -2.0, 65504.0, 2.0 ** -24, 0.333251953125, float("inf"), -0.0]),
    "brain": ("BF16", [3], [1.0, -3.140625, 2.0 ** 100]),
    "long": ("I64", [3], [0, -5, 2147483647]),
    "mask": ("BOOL", [4], [True, False, True, True]),
    "bytes": ("U8", [3], [0, 200, 255]),
    "signed.bytes": ("I8", [3], [-128, 0, 127]),
    "shorts": ("I16", [3], [-32768, 1234, 32767]),
    "ushorts": ("U16", [2], [0, 65535]),
    "scalar": ("F32", [], [7.5]),
    "empty": ("F32", [0, 3], []),
    "ünïcode·name": ("F32", [1], [42.0]),
}
MIXED_METADATA = {"format": "pt", "source": "safetensors_fixture.py"}

NATIVE = {
    "features.0.weight": ("F32", [2, 1, 2, 2], [0.5, -1.0, 2.0, 0.25, 1e-3, -7.0, 3.0, 1e10]),
    "features.0.bias": ("F32", [2], [0.125, -0.5]),
    "step": ("I32", [], [12]),
    "labels": ("I32", [3], [3, 1, 4]),
    "gradcheck": ("F64", [2], [1.0 / 3.0, -2.5]),
    "z": ("F64", [1], [1e-300]),
}
NATIVE_METADATA = {"epoch": "3"}


def main(argv):
    if len(argv) == 3 and argv[1] == "write":
        out = argv[2]
        files = {"mixed": (MIXED, MIXED_METADATA), "native": (NATIVE, NATIVE_METADATA)}
        result = {}
        for name, (tensors, metadata) in files.items():
            blob = serialize(tensors, metadata)
            with open("%s/%s.safetensors" % (out, name), "wb") as f:
                f.write(blob)
            result[name] = describe(*parse(blob))
        result["reference"] = cross_check(out)
        json.dump(result, sys.stdout)
        return 0
    if len(argv) == 3 and argv[1] == "read":
        with open(argv[2], "rb") as f:
            data = f.read()
        desc = describe(*parse(data))
        desc["reference"] = reference_read(argv[2], desc)
        json.dump(desc, sys.stdout)
        return 0
    sys.stderr.write(__doc__)
    return 2


def cross_check(out):
    """With the reference package: write native.ref.safetensors with it, for a byte comparison."""
    try:
        import numpy as np
        from safetensors.numpy import save_file
    except ImportError:
        return "unavailable"
    arrays = {k: np.array(v, dtype={"F32": np.float32, "F64": np.float64, "I32": np.int32}[d]).reshape(s)
              for k, (d, s, v) in NATIVE.items()}
    save_file(arrays, "%s/native.ref.safetensors" % out, metadata=NATIVE_METADATA)
    return "written"


def reference_read(path, desc):
    """With the reference package: load the file with it too and compare with our reading."""
    try:
        from safetensors.numpy import load_file
    except ImportError:
        return "unavailable"
    loaded = load_file(path)
    for k, v in desc["tensors"].items():
        ref = [finite(float(x)) if isinstance(x, float) else x for x in loaded[k].reshape(-1).tolist()]
        if list(loaded[k].shape) != v["shape"] or ref != v["values"]:
            raise ValueError("reference implementation reads %r differently" % k)
    return "agrees"


if __name__ == "__main__":
    sys.exit(main(sys.argv))
