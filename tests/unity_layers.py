#!/usr/bin/env python3
"""Checks the unity batches of the layers: no file-private name seen by another file of its layer.

With POSBENCH_UNITY_BUILD each layer is compiled as one translation unit (CMakeLists.txt), so a
name a file defines for itself (in an anonymous namespace, or static) is seen by the files after
it. A second definition of the same name is a compile error, but a helper of the same name with
other parameters silently joins an overload set, and a call in another file may pick it. This
lists, for every pair of files of a layer, the file-private names one defines and the other
defines or mentions (member accesses and names qualified by std::, fmt::, ... left out, as in
tests/unity_groups.py), and fails on any pair not reviewed below. A reviewed pair says why the
shared name is harmless; a new one is fixed by renaming the helper (or, once checked, added here).

CTest runs it with each layer's sources, as CMake lists them (needs Universal Ctags):

    python3 tests/unity_layers.py --layer NAME FILE... [--layer NAME FILE...]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The same reading of a file as unity_groups.py's.
from unity_groups import enum_scopes, identifiers, macros, scope_of, tags  # noqa: E402

# (name, file, file): why sharing it is harmless.
REVIEWED = {
    ("fail", "encoders/files.cpp", "encoders/npy.cpp"):
        "files.cpp's fail is a local lambda, which hides npy.cpp's function",
    ("fail", "encoders/npy.cpp", "encoders/rope.cpp"):
        "rope.cpp calls its own member fail(key, message); a member hides the namespace's",
    ("Kind", "encoders/npy.cpp", "encoders/rope.cpp"):
        "npy.cpp's Kind is an enum inside a struct; rope.cpp's is at namespace scope",
    ("dot", "harness/analysis/attention_logit.cpp", "harness/analysis/similarity.cpp"):
        "two overloads with different parameters (two spans; two pointers and a length): "
        "every call matches one of them only",
    ("finish", "harness/run/progress.cpp", "harness/run/seeds.cpp"):
        "progress.cpp's finish is the member Progress::finish",
    ("joined", "harness/run/hf_config.cpp", "harness/run/runner.cpp"):
        "runner.cpp's joined is a local variable, which hides hf_config.cpp's function",
    ("table", "harness/report/compare_render.cpp", "harness/report/console.cpp"):
        "console.cpp's table is a local variable",
    ("render", "harness/report/console.cpp", "harness/report/json.cpp"):
        "json.cpp's render is a reporter's member function",
    ("experiment_json", "harness/report/json.cpp", "harness/report/registry_json.cpp"):
        "two overloads, one of ExperimentRun and one of ExperimentInfo",
    ("to_json", "harness/experiments/embedding_interference.cpp",
     "harness/experiments/extrapolation_reference.cpp"):
        "extrapolation_reference.cpp's is the member Reference::to_json()",
    ("to_json", "harness/experiments/embedding_interference.cpp",
     "harness/experiments/speed/parameters.cpp"): "parameters.cpp's is the member Shape::to_json()",
    ("to_json", "harness/experiments/embedding_interference.cpp",
     "harness/experiments/speed/reliability.cpp"):
        "reliability.cpp's are the members Thresholds::to_json() and Reason::to_json()",
    ("to_json", "harness/experiments/embedding_interference.cpp",
     "harness/experiments/speed/statistics.cpp"): "statistics.cpp's is a member to_json()",
    ("draw", "harness/experiments/embedding_interference.cpp",
     "harness/experiments/trained/tasks.cpp"):
        "embedding_interference.cpp's draw is a member, which hides tasks.cpp's function",
    ("max_abs_diff", "harness/experiments/precision.cpp",
     "harness/experiments/speed/workspaces.cpp"):
        "precision.cpp's is a static member function, not seen outside its class",
    ("seconds_of", "harness/experiments/speed/reliability.cpp",
     "harness/experiments/speed/session.cpp"):
        "two overloads, of timeval and of a steady_clock time_point: each call matches one",
    ("make_workspace", "harness/experiments/speed/speed.cpp",
     "harness/experiments/speed/workspaces.cpp"):
        "ctags marks workspaces.cpp's explicit instantiations (make_workspace<float>(...)) as "
        "file-private; it is the public function of workspaces.h, which speed.cpp calls",
    ("num", "harness/experiments/speed/reliability.cpp",
     "harness/experiments/speed/statistics.cpp"):
        "statistics.cpp's num is a local lambda, which hides reliability.cpp's function",
}
NOT_PRIVATE = {"kRegistration", "kNaN"}  # made unique per file by the unity build's macros


def private_names(path):
    """Names the file defines for itself: in an anonymous namespace or static (ctags' file:)."""
    names = set()
    tagged = list(tags(path))
    enums = enum_scopes(tagged)
    for name, kind, rest in tagged:
        if kind == "namespace" or name.startswith("__anon"):
            continue
        scope = scope_of(rest, enums)
        if scope and not scope.startswith("namespace:"):
            continue  # a member or a local
        if "file:" in rest or "__anon" in scope:
            names.add(name)
    names |= macros(path)
    return names - NOT_PRIVATE


def shared_names(files, root):
    rel = {f: os.path.relpath(f, root) for f in files}
    defs = {f: private_names(f) for f in files}
    uses = {f: identifiers(f) for f in files}
    found = []
    for i, a in enumerate(files):
        for b in files[i + 1:]:
            for name in sorted((defs[a] & (defs[b] | uses[b])) | (defs[b] & uses[a])):
                found.append((name, *sorted((rel[a], rel[b]))))
    return found


def main(argv):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    layers, current = {}, None
    for arg in argv:
        if arg == "--layer":
            current = None
        elif current is None:
            current = layers.setdefault(arg, [])
        else:
            current.append(arg)
    if not layers:
        sys.exit(__doc__)
    unreviewed, seen = [], set()
    for layer, files in layers.items():
        files = sorted(f for f in files if f.endswith(".cpp"))
        shared = shared_names(files, root)
        print(f"{layer}: {len(files)} files, {len(shared)} shared file-private names "
              f"({sum(key in REVIEWED for key in shared)} reviewed)")
        unreviewed += [key for key in shared if key not in REVIEWED]
        seen.update(shared)
    for name, a, b in unreviewed:
        print(f"NOT REVIEWED: `{name}` is private to one of {a} and {b}, and the other defines or "
              f"mentions it; they are in one unity batch. Rename the helper, or check and add "
              f"the pair to REVIEWED in tests/unity_layers.py.")
    # A reviewed pair that is no longer found (a helper renamed, a file moved, or a ctags that
    # reads the files otherwise) is an error too: the list says what the check sees.
    stale = [key for key in REVIEWED if key not in seen]
    for name, a, b in stale:
        print(f"STALE: the reviewed pair `{name}` of {a} and {b} is no longer found; remove it from "
              f"REVIEWED in tests/unity_layers.py.")
    return 1 if unreviewed or stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
