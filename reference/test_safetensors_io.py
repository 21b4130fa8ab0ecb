"""Checks safetensors_io.py against files the C++ engine wrote (tests/io_test.cpp, PythonSample.Write):
    /usr/bin/python3 reference/test_safetensors_io.py DIR
DIR holds sample.safetensors and sample_{f32,i32}.npy. Every value is checked, the Python writer must
reproduce the C++ bytes exactly, and corrupted variants must be refused. Exit status 1 on failure.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import SafetensorsError, encode, load, parse  # noqa: E402


def main(folder):
    path = os.path.join(folder, "sample.safetensors")
    tensors, metadata = load(path)
    # The values of Sample in tests/io_test.cpp.
    expect = {
        "a.f32": np.array([[-1.0, -0.5, 0.0], [0.5, 1.0, 1.5]], np.float32),
        "b.f64": np.array([1.0, 0.5, 1.0 / 3.0, 0.25], np.float64),
        "c.bf16": np.array([1.5, -2.0, 0.25], np.float32),
        "d.i32": np.array([[-2, -1], [0, 1]], np.int32),
        "e.empty": np.zeros((0, 3), np.float32),
        "f.scalar": np.array(3.25, np.float32),
    }
    assert sorted(tensors) == sorted(expect), sorted(tensors)
    for name, want in expect.items():
        got = tensors[name]
        assert got.dtype == want.dtype and got.shape == want.shape, (name, got.dtype, got.shape)
        assert np.array_equal(got, want), (name, got, want)
    assert metadata["format"] == "titans.cpp" and metadata["format_version"] == "1", metadata
    assert json.loads(metadata["config"]) == {"d_model": 8, "name": "sample"}, metadata
    assert metadata["note"] == "written by io_test", metadata

    # Same tensors, same bytes: the Python writer follows the engine's layout exactly.
    original = open(path, "rb").read()
    again = encode(tensors, {k: v for k, v in metadata.items()}, bf16={"c.bf16"})
    assert again == original, "the Python encoding differs from the C++ file"

    # The validation refuses what the engine refuses.
    for corrupt, why in [(original[:20], "runs past the end of the file"),
                         (original[:-4], "run past the end of the data"),
                         (original + b"\0", "belong to no tensor")]:
        try:
            parse(corrupt, "bad")
            raise AssertionError(f"accepted a corrupted file ({why})")
        except SafetensorsError as e:
            assert why in str(e), str(e)

    f32 = np.load(os.path.join(folder, "sample_f32.npy"))
    assert f32.dtype == np.float32 and np.array_equal(f32, expect["a.f32"]), f32
    i32 = np.load(os.path.join(folder, "sample_i32.npy"))
    assert i32.dtype == np.int32 and np.array_equal(i32, expect["d.i32"].reshape(4)), i32
    print("safetensors_io: the C++ sample reads back exactly and re-encodes to the same bytes")


if __name__ == "__main__":
    main(sys.argv[1])
