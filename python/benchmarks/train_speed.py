#!/usr/bin/env python3
"""Training steps per second: trained_extrapolation's C++ trainer against the same model in
PyTorch Python (Debian python3-torch), same batch, same threads, in one run.

    cmake --build build --target posbench_train_speed    # not part of the default build
    /usr/bin/python3 python/benchmarks/train_speed.py [--binary build/posbench_train_speed]
                                                      [--steps 200] [--threads 1] [--repeats 3]

The model is the experiment's default: decoder-only pre-LayerNorm transformer, layers 2,
d_model 64, heads 4, ff_mult 4, GELU, untied output head, RoPE (half pairing, base 10000) on q
and k of every layer, causal mask; task copy with n uniform in [1, 8] per example, right-padded
batch of 32, loss on output tokens; AdamW (weight decay 0.01 on matrices), warm-up + cosine
schedule, gradient clipping at 1. The Python model is the plain PyTorch one (the padded batch
through every layer, attention as matmul / softmax / matmul); the C++ trainer computes the same
loss and gradients (tested against that composition: trainer_test.cpp, attention_test.cpp) with
three differences of implementation: the position-wise layers see only the real (non-padding)
tokens, attention is one fused autograd op, and each AdamW group's parameters live in one buffer.
Each side runs `--repeats` times alternately, after an untimed warm-up of 20 steps; the median
steps/s of each is reported, with the ratio C++ / Python, by wall time and by CPU time of the
process (user + sys: robust on a shared machine, where wall time counts the time other processes
hold the core).

Python runs twice per repeat: in this process with glibc malloc's defaults ("python"), and in a
child process with the allocator settings the C++ trainer makes for itself (set_threads() in
trainer.cpp: mmap threshold 256 MiB, trim threshold 512 MiB, top pad 64 MiB, here through
glibc's MALLOC_*_ environment variables; "python_malloc_tuned"). With the defaults every freed
activation of a few hundred KiB goes back to the kernel and is page-faulted in again at the next
step, which costs Python a large share of its time on some machines: the tuned run is the fair
comparison of the two trainers, the default run what a Python user gets out of the box.
OPENBLAS_NUM_THREADS is set to 1 for every process (the C++ trainer sets OpenBLAS to one thread
itself; Python would otherwise let OpenBLAS start a thread per core).
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

import torch


class Block(torch.nn.Module):
    def __init__(self, d, heads, ff):
        super().__init__()
        self.heads = heads
        self.ln1 = torch.nn.LayerNorm(d)
        self.ln2 = torch.nn.LayerNorm(d)
        self.qkv = torch.nn.Linear(d, 3 * d)
        self.out = torch.nn.Linear(d, d)
        self.fc1 = torch.nn.Linear(d, ff * d)
        self.fc2 = torch.nn.Linear(ff * d, d)

    def forward(self, x, cos, sin, mask):
        B, T, d = x.shape
        hd = d // self.heads
        qkv = self.qkv(self.ln1(x)).view(B, T, 3, self.heads, hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        logits = q @ k.transpose(-2, -1) / math.sqrt(hd)
        logits = logits.masked_fill(mask, float("-inf"))
        y = (torch.softmax(logits, -1) @ v).transpose(1, 2).reshape(B, T, d)
        h = x + self.out(y)
        return h + self.fc2(torch.nn.functional.gelu(self.fc1(self.ln2(h))))


def rotate(x, cos, sin):
    p = cos.shape[-1]
    x1, x2 = x[..., :p], x[..., p:2 * p]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos, x[..., 2 * p:]], -1)


class Model(torch.nn.Module):
    def __init__(self, vocab=14, layers=2, d=64, heads=4, ff=4):
        super().__init__()
        self.heads = heads
        self.embed = torch.nn.Embedding(vocab, d)
        self.blocks = torch.nn.ModuleList([Block(d, heads, ff) for _ in range(layers)])
        self.ln_f = torch.nn.LayerNorm(d)
        self.head = torch.nn.Linear(d, vocab)
        hd = d // heads
        self.inv_freq = 1.0 / (10000 ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))

    def forward(self, tokens):
        T = tokens.shape[1]
        ang = torch.arange(T, dtype=torch.float64)[:, None] * self.inv_freq[None, :]
        cos, sin = ang.cos().float(), ang.sin().float()
        mask = torch.ones(T, T, dtype=torch.bool).triu(1)
        x = self.embed(tokens)
        for b in self.blocks:
            x = b(x, cos, sin, mask)
        return self.head(self.ln_f(x))


def batch(gen, size=32, train_length=8, alphabet=10):
    rows = []
    for _ in range(size):
        n = int(torch.randint(1, train_length + 1, (1,), generator=gen))
        # the experiment's layout: BOS (3), x, SEP (1), x; symbols from id 4
        x = (torch.randint(0, alphabet, (n,), generator=gen) + 4).tolist()
        rows.append(([3] + x + [1] + x, n + 2))
    cols = max(len(t) for t, _ in rows) - 1
    inputs = torch.zeros(size, cols, dtype=torch.long)
    targets = torch.zeros(size, cols, dtype=torch.long)
    mask = torch.zeros(size, cols)
    for r, (t, start) in enumerate(rows):
        inputs[r, : len(t) - 1] = torch.tensor(t[:-1])
        targets[r, : len(t) - 1] = torch.tensor(t[1:])
        mask[r, start - 1 : len(t) - 1] = 1
    return inputs, targets, mask


def python_steps_per_second(steps, untimed=20):
    """(wall steps/s, CPU steps/s) of `steps` training steps after `untimed` ones."""
    torch.manual_seed(0)
    model = Model()
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": no_decay, "weight_decay": 0.0}], lr=3e-3)
    gen = torch.Generator().manual_seed(0)

    def run(n):
        for s in range(n):
            inputs, targets, mask = batch(gen)
            lr = 3e-3 * 0.5 * (1 + math.cos(math.pi * s / n))
            for g in opt.param_groups:
                g["lr"] = lr
            opt.zero_grad()
            logp = torch.log_softmax(model(inputs), -1)
            nll = -logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
            loss = (nll * mask).sum() / mask.sum()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            loss.item()

    run(untimed)
    t0, c0 = time.perf_counter(), time.process_time()
    run(steps)
    return steps / (time.perf_counter() - t0), steps / (time.process_time() - c0)


# What set_threads() in harness/experiments/trained/trainer.cpp sets with mallopt().
MALLOC_TUNED = {"MALLOC_MMAP_THRESHOLD_": str(256 << 20), "MALLOC_TRIM_THRESHOLD_": str(512 << 20),
                "MALLOC_TOP_PAD_": str(64 << 20)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default="build/posbench_train_speed")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--python-only", action="store_true",
                    help="print this process's Python steps/s as JSON and exit (used for the "
                         "tuned-allocator run)")
    a = ap.parse_args()
    if not os.path.exists(a.binary):  # not part of the default build (CMakeLists.txt)
        sys.exit(f"{a.binary} does not exist: build it first with "
                 "`cmake --build build --target posbench_train_speed`")
    if os.environ.get("OPENBLAS_NUM_THREADS") != "1":  # must be set before torch loads OpenBLAS
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
        os.execv(sys.executable, [sys.executable] + sys.argv)
    torch.set_num_threads(a.threads)
    if a.python_only:
        wall, cpu = python_steps_per_second(a.steps)
        print(json.dumps({"wall": wall, "cpu": cpu}))
        return
    runs = {"cpp": [], "python": [], "python_malloc_tuned": []}
    for _ in range(a.repeats):
        out = json.loads(subprocess.run([a.binary, str(a.steps), str(a.threads)], check=True,
                                        capture_output=True, text=True).stdout)
        runs["cpp"].append((out["steps_per_second"], out["cpu_steps_per_second"]))
        runs["python"].append(python_steps_per_second(a.steps))
        tuned = subprocess.run([sys.executable, __file__, "--python-only", "--steps", str(a.steps),
                                "--threads", str(a.threads)], check=True, capture_output=True,
                               text=True, env={**os.environ, **MALLOC_TUNED}).stdout
        t = json.loads(tuned)
        runs["python_malloc_tuned"].append((t["wall"], t["cpu"]))
    result = {"threads": a.threads, "steps": a.steps, "repeats": a.repeats,
              "torch": torch.__version__, "load_average": os.getloadavg()}
    for clock, i in (("wall", 0), ("cpu", 1)):
        med = {k: statistics.median(v[i] for v in runs[k]) for k in runs}
        result[clock] = {
            **{f"{k}_steps_per_second": [round(v[i], 2) for v in runs[k]] for k in runs},
            **{f"{k}_median": round(med[k], 2) for k in runs},
            "ratio_cpp_over_python": round(med["cpp"] / med["python"], 3),
            "ratio_cpp_over_python_malloc_tuned": round(med["cpp"] / med["python_malloc_tuned"],
                                                        3)}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
