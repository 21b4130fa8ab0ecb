"""Read and write safetensors files with numpy alone (the `safetensors` package is not installable
here). The PyTorch reference models load the engine's model files, checkpoints and memory states with
it; the layout and the validation rules are those of docs/FORMAT.md ("The container") and of
src/io/safetensors.cpp, so the same tensors give the same bytes from either side.

    tensors, metadata = load("model.safetensors")          # {name: np.ndarray}, {str: str}
    save("model.safetensors", {"w": np.zeros((2, 3), np.float32)}, {"config": "{...}"})
    state = load_torch("model.safetensors")                 # {name: torch.Tensor}, BF16 stays bf16
    save_torch("model.safetensors", model.state_dict(), {"config": json.dumps(cfg)})

numpy has no bfloat16: `load` returns BF16 tensors as float32 (exact), `save` writes a float32
array as BF16 only when asked (`bf16={"name", ...}`, rounded to nearest even like the engine).
"""
import json
import os

import numpy as np

FORMAT_METADATA = {"format": "titans.cpp", "format_version": "1"}
MAX_HEADER_BYTES = 100_000_000

# tag -> (numpy dtype, bytes per element); BF16 is read as uint16 bits then widened.
DTYPES = {
    "F64": (np.dtype("<f8"), 8),
    "F32": (np.dtype("<f4"), 4),
    "F16": (np.dtype("<f2"), 2),
    "BF16": (np.dtype("<u2"), 2),
    "I64": (np.dtype("<i8"), 8),
    "I32": (np.dtype("<i4"), 4),
    "U8": (np.dtype("u1"), 1),
}
TAG_OF_NUMPY = {np.dtype(np.float64): "F64", np.dtype(np.float32): "F32", np.dtype(np.float16): "F16",
                np.dtype(np.int64): "I64", np.dtype(np.int32): "I32", np.dtype(np.uint8): "U8"}


class SafetensorsError(ValueError):
    pass


def bf16_bits_to_f32(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def f32_to_bf16_bits(x):
    """Round to nearest even, NaN kept NaN: the engine's to_bf16 (src/tensor/dtype.h)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    nan = (u & 0x7F800000) == 0x7F800000
    nan &= (u & 0x7FFFFF) != 0
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF
    return np.where(nan, (u >> 16) | 0x40, rounded).astype(np.uint16)


def _no_duplicates(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise SafetensorsError(f"key {k!r} appears twice")
        seen[k] = v
    return seen


def parse(data, label="<bytes>"):
    """Validates `data` (the whole file) and returns (entries, metadata, data_start) where entries
    maps name -> (tag, shape, begin, end). Raises SafetensorsError naming label and tensor."""
    def fail(msg):
        raise SafetensorsError(f"{label}: {msg}")

    if len(data) < 8:
        fail(f"file is {len(data)} bytes, too short for the 8-byte header length")
    n = int.from_bytes(data[:8], "little")
    if n == 0:
        fail("header length is 0")
    if n > MAX_HEADER_BYTES:
        fail(f"header length {n} is absurd (limit {MAX_HEADER_BYTES} bytes)")
    if n > len(data) - 8:
        fail(f"header length {n} runs past the end of the file ({len(data)} bytes)")
    try:
        header = json.loads(bytes(data[8:8 + n]).decode("utf-8"), object_pairs_hook=_no_duplicates)
    except UnicodeDecodeError as e:
        fail(f"header is not valid UTF-8 ({e.reason} at byte {e.start})")
    except SafetensorsError as e:
        fail(str(e))
    except ValueError as e:
        fail(f"header is not valid JSON: {e}")
    if not isinstance(header, dict):
        fail(f"header is not a JSON object (it is {type(header).__name__})")
    data_size = len(data) - 8 - n
    metadata, entries = {}, {}
    for name, e in header.items():
        if name == "__metadata__":
            if not isinstance(e, dict) or not all(isinstance(v, str) for v in e.values()):
                fail("__metadata__ is not an object of strings")
            metadata = dict(e)
            continue
        who = f"tensor {name!r}"
        if not isinstance(e, dict):
            fail(f"{who}: entry is not an object")
        for key in ("dtype", "shape", "data_offsets"):
            if key not in e:
                fail(f"{who}: missing {key!r}")
        tag, shape, offsets = e["dtype"], e["shape"], e["data_offsets"]
        if tag not in DTYPES:
            fail(f"{who}: unknown dtype {tag!r}")
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            fail(f"{who}: shape {shape!r} is not a list of non-negative integers")
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(type(o) is int and o >= 0 for o in offsets)):
            fail(f"{who}: data_offsets {offsets!r} is not [begin, end]")
        begin, end = offsets
        need = DTYPES[tag][1]
        for d in shape:
            need *= d
        if end < begin:
            fail(f"{who}: data_offsets [{begin}, {end}] end before they begin")
        if end > data_size:
            fail(f"{who}: data_offsets [{begin}, {end}] run past the end of the data ({data_size} bytes)")
        if end - begin != need:
            fail(f"{who}: data_offsets [{begin}, {end}] hold {end - begin} bytes, but {tag} {shape} needs {need}")
        entries[name] = (tag, tuple(shape), begin, end)
    covered = 0
    for name, (_, _, begin, end) in sorted(((k, v) for k, v in entries.items() if v[3] > v[2]),
                                           key=lambda kv: kv[1][2]):
        if begin < covered:
            fail(f"tensor {name!r} [{begin}, {end}] overlaps the tensor before it")
        if begin > covered:
            fail(f"data bytes [{covered}, {begin}) before tensor {name!r} belong to no tensor")
        covered = end
    if covered != data_size:
        fail(f"data bytes [{covered}, {data_size}) at the end of the file belong to no tensor")
    return entries, metadata, 8 + n


def load(path, bf16_as_bits=False):
    """{name: np.ndarray} and the metadata. BF16 comes back as float32 (or its uint16 bits)."""
    with open(path, "rb") as f:
        data = f.read()
    entries, metadata, start = parse(data, os.fspath(path))
    out = {}
    for name, (tag, shape, begin, end) in entries.items():
        a = np.frombuffer(data, dtype=DTYPES[tag][0], count=(end - begin) // DTYPES[tag][1],
                          offset=start + begin).reshape(shape).copy()
        out[name] = bf16_bits_to_f32(a) if tag == "BF16" and not bf16_as_bits else a
    return out, metadata


def encode(tensors, metadata=None, bf16=()):
    """The file's bytes, laid out exactly as the engine's encode_safetensors: tensors ordered by
    element size (largest first) then name, header keys sorted, padded with spaces to 8 bytes."""
    items = []
    for name, a in tensors.items():
        if name == "__metadata__":
            raise SafetensorsError("the name '__metadata__' is reserved")
        a = np.asarray(a)
        if name in bf16:
            tag, raw = "BF16", f32_to_bf16_bits(a)
        else:
            tag = TAG_OF_NUMPY.get(a.dtype)
            if tag is None:
                raise SafetensorsError(f"tensor {name!r}: dtype {a.dtype} has no safetensors tag here")
            raw = a
        raw = np.ascontiguousarray(raw, dtype=DTYPES[tag][0])
        items.append((name, tag, list(a.shape), raw.tobytes()))
    items.sort(key=lambda it: (-DTYPES[it[1]][1], it[0]))
    header, offset = {}, 0
    for name, tag, shape, raw in items:
        header[name] = {"dtype": tag, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    header["__metadata__"] = {**(metadata or {}), **FORMAT_METADATA}
    text = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return len(text).to_bytes(8, "little") + text + b"".join(raw for *_, raw in items)


def save(path, tensors, metadata=None, bf16=()):
    """Writes atomically (temporary file, fsync, rename), like the engine."""
    data = encode(tensors, metadata, bf16)
    tmp = f"{os.fspath(path)}.tmp.{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_torch(path):
    """{name: torch.Tensor} (BF16 as torch.bfloat16) and the metadata."""
    import torch
    arrays, metadata = load(path, bf16_as_bits=True)
    entries, _, _ = parse(open(path, "rb").read(), os.fspath(path))
    out = {}
    for name, a in arrays.items():
        if entries[name][0] == "BF16":
            out[name] = torch.from_numpy(a.astype(np.int16)).view(torch.bfloat16)
        else:
            out[name] = torch.from_numpy(a)
    return out, metadata


def save_torch(path, tensors, metadata=None):
    """Writes a {name: torch.Tensor} dict; bfloat16 tensors are stored as BF16 (bits unchanged)."""
    import torch
    arrays, bf16 = {}, set()
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        if t.dtype == torch.bfloat16:
            arrays[name] = bf16_bits_to_f32(t.view(torch.int16).numpy().view(np.uint16))
            bf16.add(name)
        else:
            arrays[name] = t.numpy()
    save(path, arrays, metadata, bf16)
