#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/ (standard library only, no numpy).

Seeds are small on purpose: the fuzzer grows inputs from them. Files named regress-* are the
crash classes of the hardening issue (and those found by fuzzing since), each of which must stay
an expected outcome. Run from anywhere: python3 tests/fuzz/make_seeds.py
"""
import json
import math
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def npy(dtype, shape, values=None, version=(1, 0), header_override=None):
    """The bytes of a .npy file as numpy.save writes them (or a crafted header)."""
    n = 1
    for d in shape:
        n *= d
    if values is None:
        values = [((i * 37) % 19 - 9) / 8.0 for i in range(n)]
    shape_text = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    fortran = "False"
    header = header_override or (
        "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (dtype, fortran, shape_text))
    length_bytes = 2 if version[0] == 1 else 4
    unpadded = 6 + 2 + length_bytes + len(header) + 1
    header += " " * (64 - unpadded % 64) + "\n"
    out = b"\x93NUMPY" + bytes(version)
    out += struct.pack("<H" if length_bytes == 2 else "<I", len(header)) + header.encode("latin-1")
    code = {"<f4": "<%df", "<f8": "<%dd", ">f4": ">%df", ">f8": ">%dd"}.get(dtype)
    if code:
        out += struct.pack(code % len(values), *values)
    return out


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def compact(value):
    return json.dumps(value, separators=(",", ":"))


# ---- config: whole config files, as `posbench validate` reads them -------------------------
def experiment_with(encoders):
    return ('{"experiments": [{"type": "offset_linearity", "dim": 16, "positions": 32, '
            '"offsets": [1], "encoders": %s}]}' % encoders)


EVERY_SCHEME = [
    {"name": "sinusoidal"},
    {"name": "learned", "params": {"max_len": 64}},
    {"name": "nope"},
    {"name": "rope", "params": {"scaling": {"rope_type": "yarn", "factor": 4,
                                            "original_max_position_embeddings": 32}}},
    {"name": "xpos", "params": {"centre": True}},
    {"name": "alibi"},
    {"name": "t5"},
    {"name": "kerple", "params": {"variant": "power"}},
    {"name": "fire"},
]
write("config", "every-scheme.json", json.dumps(
    {"name": "all", "seed": 3, "experiments": [
        {"type": "offset_linearity", "dim": 16, "positions": 64, "encoders": EVERY_SCHEME}]},
    indent=1))
EVERY_EXPERIMENT = ["offset_linearity", "translation_invariance", "monotonicity", "symmetry",
                    "long_term_decay", "length_extrapolation", "position_probe", "resolution",
                    "precision"]
write("config", "every-experiment.json", compact(
    {"seed": 1, "plugins": [], "experiments": [
        {"type": t, "encoders": [{"name": "rope", "label": "r"}, {"name": "alibi"}]}
        for t in EVERY_EXPERIMENT]}))
write("config", "speed.json", compact(
    {"name": "speed-ci", "experiments": [{
        "type": "speed", "operations": ["table", "apply", "materialize_bias", "attention"],
        "shapes": [{"seq": 40, "heads": 2, "head_dim": 12}, {"seq": 33, "dim": 20}],
        "threads": [1, 2], "dtype": "bfloat16", "implementations": ["reference", "simd"],
        "min_time": 0.002, "repetitions": 2, "probe_mib": 1,
        "encoders": [{"name": "sinusoidal"}, {"name": "rope", "params": {"layout": "interleaved",
                                                                         "rotary_fraction": 0.5}},
                     {"name": "alibi"}]}]}))
write("config", "many-problems.json",
      '{"plugins": [5, null], "seed": "x", "experiments": [{"type": "nope"}, '
      '{"type": "speed", "shapes": [{"seq": 4, "dim": null}], "encoders": [{"label": "x"}]}]}')
# The hardening issue's crash classes.
write("config", "regress-yarn-original-2e64.json", experiment_with(
    '[{"name": "rope", "params": {"scaling": {"rope_type": "yarn", "factor": 4, '
    '"original_max_position_embeddings": 18446744073709551615}}}]'))
write("config", "regress-llama3-original-2e63.json", experiment_with(
    '[{"name": "rope", "params": {"scaling": {"rope_type": "llama3", "factor": 8, '
    '"low_freq_factor": 1, "high_freq_factor": 4, '
    '"original_max_position_embeddings": 9223372036854775808}}}]'))
write("config", "regress-nesting-100000.json", "[" * 100000)
write("config", "regress-dim-1e400.json",
      '{"experiments": [{"type": "offset_linearity", "dim": 1e400, "encoders": [{"name": "rope"}]}]}')
write("config", "regress-factor-1e400.json", experiment_with(
    '[{"name": "rope", "params": {"scaling": {"rope_type": "linear", "factor": 1e400}}}]'))
write("config", "regress-duplicate-seed.json", '{"seed": 0, "seed": 1, "experiments": []}')
write("config", "regress-duplicate-base.json",
      experiment_with('[{"name": "rope", "params": {"base": 100, "base": 200}}]'))
write("config", "regress-speed-shape-2e32.json", compact(
    {"experiments": [{"type": "speed", "shapes": [{"seq": 4294967296, "heads": 1, "head_dim": 2}],
                      "encoders": [{"name": "alibi"}]}]}))
write("config", "regress-learned-max-len-1e12.json",
      experiment_with('[{"name": "learned", "params": {"max_len": 1e12}}]'))

# ---- params: "NAME\n{params}" ----------------------------------------------------------------
SCALINGS = {
    "linear": {"rope_type": "linear", "factor": 2},
    "ntk": {"type": "ntk", "factor": 2.5},
    "dynamic": {"rope_type": "dynamic", "factor": 2, "original_max_position_embeddings": 64},
    "yarn": {"rope_type": "yarn", "factor": 4, "original_max_position_embeddings": 64,
             "beta_fast": 32, "beta_slow": 1, "mscale": 1, "mscale_all_dim": 0.5,
             "truncate": False},
    "longrope": {"rope_type": "longrope", "short_factor": [1, 1.5, 2, 2.5],
                 "long_factor": [2, 3, 4, 5], "original_max_position_embeddings": 32,
                 "factor": 8},
    "llama3": {"rope_type": "llama3", "factor": 8, "low_freq_factor": 1, "high_freq_factor": 4,
               "original_max_position_embeddings": 64, "rope_theta": 500000},
}
for kind, scaling in SCALINGS.items():
    write("params", "rope-" + kind, "rope\n" + compact(
        {"scaling": scaling, "max_position_embeddings": 256, "layout": "interleaved"}))
write("params", "rope-hf-v5", "rope\n" + compact(
    {"scaling": {"rope_type": "yarn", "rope_theta": 1000000, "partial_rotary_factor": 0.5,
                 "original_max_position_embeddings": 64}, "max_position_embeddings": 512}))
write("params", "speed", "speed\n" + compact(
    {"operations": ["table", "attention"], "shapes": [{"seq": 8, "heads": 2, "head_dim": 4},
                                                       {"seq": 5, "dim": 6}],
     "threads": [2, 1], "dtype": "float64", "implementations": ["simd"], "min_time": 0.01,
     "repetitions": 2, "probe_mib": 1, "huge_pages": False, "attention_baseline": False,
     "encoders": [{"name": "rope"}, {"name": "learned", "params": {"max_len": 9}}]}))
write("params", "speed-null-dim", "speed\n" + compact({"shapes": [{"seq": 4, "dim": None}]}))
for name in ["sinusoidal", "learned", "nope", "xpos", "alibi", "t5", "kerple", "fire"] + \
        EVERY_EXPERIMENT:
    write("params", name, name + "\n{}")
write("params", "regress-yarn-original-2e64", "rope\n" + compact(
    {"scaling": {"rope_type": "yarn", "factor": 4,
                 "original_max_position_embeddings": 18446744073709551615}}))
write("params", "regress-llama3-original-2e63", "rope\n" + compact(
    {"scaling": {"rope_type": "llama3", "factor": 8, "low_freq_factor": 1,
                 "high_freq_factor": 4, "original_max_position_embeddings": 9223372036854775808}}))
write("params", "regress-factor-1e400",
      'rope\n{"scaling": {"rope_type": "linear", "factor": 1e400}}')
write("params", "regress-duplicate-base", 'rope\n{"base": 100, "base": 200}')
write("params", "regress-nesting-100", "rope\n" + '{"scaling": ' * 100)
write("params", "regress-learned-max-len-1e12", 'learned\n{"max_len": 1e12}')
write("params", "regress-speed-shape-2e32", "speed\n" + compact(
    {"shapes": [{"seq": 4294967296, "heads": 1, "head_dim": 2}]}))

# ---- npy: files as read_npy reads them ----------------------------------------------------------
write("npy", "f4-1d.npy", npy("<f4", [5]))
write("npy", "f8-2d.npy", npy("<f8", [3, 4]))
write("npy", "f4-3d-v2.npy", npy("<f4", [2, 1, 3], version=(2, 0)))
write("npy", "f8-empty.npy", npy("<f8", [0, 3]))
write("npy", "big-endian.npy", npy(">f4", [2]))
write("npy", "fortran.npy", npy("<f8", [2, 2], header_override=(
    "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }")))
write("npy", "nan.npy", npy("<f8", [2], values=[1.0, math.nan]))
write("npy", "truncated.npy", npy("<f4", [4])[:-3])
write("npy", "int-dtype.npy", npy("<i4", [2], header_override=(
    "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }")) + b"\0" * 8)
write("npy", "huge-shape.npy", npy("<f8", [1], header_override=(
    "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 8), }")))

# ---- apply: "NAME\nPARAMS\nOFFSET\nROLE\n" + .npy bytes -------------------------------------------
def apply_seed(name, scheme, params, offset, role, array):
    write("apply", name, ("%s\n%s\n%d\n%s\n" % (scheme, params, offset, role)).encode() + array)


rotary_in = npy("<f4", [3, 2, 8])
additive_in = npy("<f8", [3, 8])
bias_in = npy("<f4", [2, 3, 4])
apply_seed("rope", "rope", '{"layout": "interleaved"}', 5, "query", rotary_in)
apply_seed("rope-yarn", "rope", compact({"scaling": SCALINGS["yarn"]}), 100, "key",
           npy("<f8", [2, 8]))
apply_seed("rope-longrope", "rope", compact({"scaling": SCALINGS["longrope"]}), 60, "query",
           npy("<f8", [4, 8]))
apply_seed("xpos-key", "xpos", '{"centre": false}', 1000, "key", rotary_in)
apply_seed("sinusoidal", "sinusoidal", "{}", 0, "query", additive_in)
apply_seed("learned", "learned", '{"max_len": 8, "out_of_range": "interpolate"}', 6, "query",
           additive_in)
apply_seed("nope", "nope", "{}", 0, "query", additive_in)
for scheme in ["alibi", "t5", "kerple", "fire"]:
    apply_seed(scheme, scheme, "{}", 2, "query", bias_in)
apply_seed("regress-yarn-original-2e64", "rope", compact(
    {"scaling": {"rope_type": "yarn", "factor": 4,
                 "original_max_position_embeddings": 18446744073709551615}}), 0, "query",
           rotary_in)
apply_seed("regress-llama3-original-2e63", "rope", compact(
    {"scaling": {"rope_type": "llama3", "factor": 8, "low_freq_factor": 1, "high_freq_factor": 4,
                 "original_max_position_embeddings": 9223372036854775808}}), 0, "query",
           rotary_in)
apply_seed("regress-offset-2e63-1", "rope", "{}", 9223372036854775807, "query", rotary_in)
write("apply", "regress-role-not-utf8", b"rope\n{}\n0\n\xff\n" + rotary_in)
apply_seed("regress-longrope-input-near-max", "rope", compact({"scaling": SCALINGS["longrope"]}),
           60, "query", npy("<f8", [4, 8], values=[0.5] * 22 + [1.5729814930045264e308] + [0.5] * 9))
apply_seed("regress-xpos-key-float32-inf", "xpos", "{}", 100000, "key", rotary_in)
apply_seed("regress-learned-max-len-1e12", "learned", '{"max_len": 1e12}', 0, "query",
           additive_in)
