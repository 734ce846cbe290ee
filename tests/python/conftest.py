"""Shared fixtures of the pytest tests of python/posbench and `posbench plot` / `report`.

CTest runs them with POSBENCH_BINARY (the built posbench), POSBENCH_SOURCE_DIR and PYTHONPATH
(python/) set (CMakeLists.txt); run by hand:
    PYTHONPATH=python POSBENCH_BINARY=build/posbench /usr/bin/python3 -m pytest tests/python
"""

import json
import os
import subprocess

import pytest

SOURCE_DIR = os.environ.get(
    "POSBENCH_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
BINARY = os.environ.get("POSBENCH_BINARY", os.path.join(SOURCE_DIR, "build", "posbench"))

# Tiny but covering every family, a not-applicable / unsupported scheme, a label that is HTML,
# and figure kinds with markers (decay bound, training length).
TINY_CONFIG = {
    "name": "tiny <round trip>",
    "seed": 3,
    "experiments": [
        {"type": "long_term_decay", "dim": 16, "heads": 2, "positions": 16, "samples": 2,
         "distances": [0, 1, 10, 100],
         "encoders": [{"name": "rope"}, {"name": "sinusoidal"},
                      {"name": "alibi", "label": "<b>alibi & \"co\"</b>"}]},
        {"type": "length_extrapolation", "dim": 16, "heads": 2, "samples": 2,
         "train_length": 32, "eval_lengths": [32, 64], "window": 8,
         "encoders": [{"name": "rope"}, {"name": "learned", "params": {"max_len": 32}},
                      {"name": "alibi"}]},
    ],
}


def run(args, env=None, timeout=600):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(args, capture_output=True, text=True, env=full_env, timeout=timeout)


@pytest.fixture(scope="session")
def binary():
    assert os.path.isfile(BINARY), f"posbench binary not found at {BINARY}; build it first"
    return BINARY


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, binary):
    """(config, results path, results document) of one real run of TINY_CONFIG."""
    d = tmp_path_factory.mktemp("tiny")
    config = d / "tiny.json"
    config.write_text(json.dumps(TINY_CONFIG))
    out = d / "results.json"
    r = run([binary, "run", str(config), "-o", str(out), "--threads", "1"])
    assert r.returncode == 0, r.stderr
    return TINY_CONFIG, out, json.loads(out.read_text())
