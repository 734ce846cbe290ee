#!/usr/bin/env python3
"""Writes tests/unity_groups.cmake: the unity-build groups of the test executables.

In a unity build the files of a group are one translation unit, so a file-private name (a helper
in an anonymous namespace, a using-declaration, an alias) of one file is seen by the files after
it: a second definition is an error, but a helper of the same name with other parameters would
silently join an overload set. So a file joins a group only if no other file of the group
defines, or mentions as an identifier (member accesses and names qualified by std::, fmt::, ...
left out), a name the file defines at namespace scope; the same using-declaration or alias in
both files is allowed, and so is a using-declaration of a name the other file only mentions
qualified by the test helpers' namespaces (test::has, kernel_test::make). Files are then packed
greedily into groups of at most GROUP_SIZE (fixed seeds: the same files give the same groups). A
test file in no group is compiled on its own, so a new file builds before this is re-run; so are
the files of ALONE. Helpers that several test files need belong in tests/test_util.h (or the
folder's *_test_util.h): one copy, and no clash.

Run from the source tree after adding or renaming test files, or after giving a test file a new
file-private name (needs Universal Ctags: apt-get install universal-ctags):

    python3 tests/unity_groups.py > tests/unity_groups.cmake
"""

import glob
import random
import re
import subprocess
import sys

# Fewer, larger groups compile the GoogleTest and nlohmann/json templates their files share fewer
# times. With the helpers several test files need in tests/test_util.h and the file-private
# helpers named apart (run_probe, run_resolution, ... instead of five different `run`s), the 85
# files fit in 5 groups: the objects of both test executables took 169 and 161 s of compile time
# against 194 and 212 with 9 groups of up to 12 files (two alternating clean builds of everything
# each, summed over the ninja log, before CMakeLists.txt's GCC heap parameter). 18 is the
# smallest size that still gives 5 groups, and the most even ([18, 14, 18, 17, 18] files), so no
# group compiles much longer than the rest at the end of a build.
GROUP_SIZE = 18
# Compiled on their own: in a group, GCC 12 inlines more of libstdc++'s std::string operator+
# into their tests and warns about it (-Warray-bounds, -Wstringop-overflow: false positives).
ALONE = {"tests/encoders/npy_test.cpp", "tests/harness/cli/apply_command_test.cpp"}
SKIP = {"TEST", "TEST_F", "TEST_P", "TYPED_TEST", "INSTANTIATE_TEST_SUITE_P", "posbench"}
# The kinds of ctags' scope field ("<kind>:<name>") besides "enum" (see scope_of).
SCOPE_KINDS = ("namespace", "class", "struct", "union", "function")
TEST_NAMESPACES = r"(?:test|kernel_test)"
FOREIGN = r"(?:std|fmt|nlohmann|Eigen|testing|xsimd|CLI|torch|at|c10|fs|chrono|json)"


def tags(path):
    """The file's tags (Universal Ctags): (name, kind, extension fields) per tag."""
    try:
        out = subprocess.run(
            ["ctags", "--c++-kinds=+p-m", "--language-force=C++", "--fields=+sK",
             "--fields-C++=+{properties}", "-o", "-", path],
            capture_output=True, text=True, check=True).stdout
    except FileNotFoundError:
        sys.exit("needs Universal Ctags: apt-get install universal-ctags")
    for line in out.splitlines():
        fields = line.split("\t")
        yield fields[0], fields[3] if len(fields) > 3 else "", fields[4:]


def macros(path):
    with open(path) as f:
        return set(re.findall(r"^\s*#\s*define\s+(\w+)", f.read(), re.M))


def enum_scopes(tagged):
    """Each enum of a file's tags (full name) -> the scope its enumerators are declared in: the
    enum's own scope for an unscoped enum, the enum itself for an enum class."""
    scopes = {}
    for name, kind, rest in tagged:
        if kind == "enum":
            scope = next((f for f in rest if f.split(":", 1)[0] in SCOPE_KINDS), "")
            full = scope.split(":", 1)[1] + "::" + name if scope else name
            scopes[full] = "enum:" + full if "properties:scopedenum" in rest else scope
    return scopes


def scope_of(rest, enums):
    """The scope a tag's name is declared in, from its ctags fields: "" (none given) or
    "<kind>:<name>". An enumerator's is its enum's scope (enum_scopes)."""
    for f in rest:
        kind, _, name = f.partition(":")
        if kind == "enum":  # an enum this file's tags do not show: taken as unscoped
            return enums.get(name, "namespace:" + name.rpartition("::")[0])
        if kind in SCOPE_KINDS:
            return f
    return ""


def definitions(path):
    """Names a file defines at namespace scope (ctags), and its macros."""
    names = set()
    tagged = list(tags(path))
    enums = enum_scopes(tagged)
    for name, kind, rest in tagged:
        scope = scope_of(rest, enums)
        if name in SKIP or name.startswith("__anon") or kind == "namespace":
            continue
        if scope and not scope.startswith("namespace:"):
            continue  # a member, or local to a function
        names.add(name)
    return names | macros(path)


def usings(path):
    """Using-declarations and aliases: name -> what it stands for."""
    text = open(path).read()
    found = {}
    for m in re.finditer(r"^\s*using\s+(?!namespace)([\w:]+)\s*;", text, re.M):
        found[m.group(1).split("::")[-1]] = m.group(1)
    for m in re.finditer(r"^\s*using\s+(\w+)\s*=\s*([^;]+);", text, re.M):
        found[m.group(1)] = re.sub(r"\s+", "", m.group(2))
    return found


def identifiers(path, qualified=r"(?!)"):
    """Identifiers a file mentions, without comments, literals, members and foreign names (and
    the names qualified by a namespace matching `qualified`, the qualifier itself kept)."""
    s = open(path).read()
    s = re.sub(r"//[^\n]*", " ", s)
    s = re.sub(r"/\*.*?\*/", " ", s, flags=re.S)
    s = re.sub(r'R"(\w*)\(.*?\)\1"', " ", s, flags=re.S)
    s = re.sub(r'"(\\.|[^"\\\n])*"', " ", s)
    s = re.sub(r"'(\\.|[^'\\\n])*'", " ", s)
    s = re.sub(r"(\.|->)\s*[A-Za-z_]\w*", " ", s)
    s = re.sub(FOREIGN + r"\s*::\s*[A-Za-z_]\w*", " ", s)
    s = re.sub(r"\b(" + qualified + r")\s*::\s*[A-Za-z_]\w*", r"\1", s)  # keeps the qualifier
    return set(re.findall(r"[A-Za-z_]\w*", s))


def groups_of(files):
    alias = {f: usings(f) for f in files}
    defs = {f: definitions(f) - set(alias[f]) for f in files}
    uses = {f: identifiers(f) for f in files}
    # A name b qualifies with the test helpers' namespaces (test::has) means the same whatever
    # a's using-declarations say: they declare names in a's own (unnamed) namespace, and
    # qualified lookup searches posbench::test. `uses` keeps it for the other checks: a name a
    # defines that b brings in with `using test::has;` would meet a's definition in the unnamed
    # namespace both files share (an error, or an overload set).
    unqualified = {f: identifiers(f, TEST_NAMESPACES) for f in files}

    def seen(a, b):  # a's using-declarations and aliases that b mentions and means otherwise
        return any(n in unqualified[b] and alias[b].get(n) != t for n, t in alias[a].items())

    def clash(a, b):
        return bool(defs[a] & uses[b] or defs[b] & uses[a] or defs[a] & defs[b]
                    or seen(a, b) or seen(b, a))

    conflicts = {f: {g for g in files if g != f and clash(f, g)} for f in files}
    best = None
    for seed in range(500):
        rnd = random.Random(seed)
        order = sorted(files, key=lambda f: (-len(conflicts[f]), rnd.random()))
        groups = []
        for f in order:
            for g in groups:
                if len(g) < GROUP_SIZE and not conflicts[f] & g:
                    g.add(f)
                    break
            else:
                groups.append({f})
        key = (len(groups), sum(len(g) ** 2 for g in groups))
        if best is None or key < best[0]:
            best = (key, groups)
    return sorted(sorted(g - ALONE) for g in best[1] if g - ALONE)


def main():
    tests = sorted(glob.glob("tests/**/*_test.cpp", recursive=True))
    trained = [f for f in tests if "/experiments/trained/" in f]
    plain = [f for f in tests if f not in trained]
    print("# Generated by tests/unity_groups.py (see there): the unity-build groups of the test")
    print("# executables; no file-private name of a file is seen by another file of its group.")
    for prefix, files in (("tests", plain), ("trained_tests", trained)):
        for i, group in enumerate(groups_of(files)):
            print(f"set_source_files_properties(")
            for f in group:
                print(f"  ${{CMAKE_CURRENT_SOURCE_DIR}}/{f}")
            print(f"  PROPERTIES UNITY_GROUP {prefix}_{i})")
    print("set_source_files_properties(")
    for f in sorted(ALONE):
        print(f"  ${{CMAKE_CURRENT_SOURCE_DIR}}/{f}")
    print("  PROPERTIES SKIP_UNITY_BUILD_INCLUSION ON)")


if __name__ == "__main__":
    main()
