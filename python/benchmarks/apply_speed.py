"""Speed of posbench.Encoder("rope").apply from Python, in one run, against
  1. the same SIMD kernel driven by the CLI's speed experiment (posbench.run, the code of
     `posbench run`, on a speed config: operation apply, rope, the same shape, dtype float32,
     implementation simd, same threads), in rounds alternating with 2;
  2. the HuggingFace-style PyTorch apply, q * cos + rotate_half(q) * sin, on the same array with
     torch.set_num_threads(threads) (Debian python3-torch).

    PYTHONPATH=build/python /usr/bin/python3 python/benchmarks/apply_speed.py \
        [--threads 2] [--seq 4096 --heads 32 --head-dim 128] [--rounds 5] [--reps 15]

q is allocated with posbench.empty (64-byte aligned, as the speed experiment's buffers and
PyTorch's CPU tensors are); the in-place apply is also timed on the same values in numpy's own
allocation (16-byte aligned), where every 64-byte vector load straddles two cache lines.

Every figure is a median over repetitions and rounds, after warm-up calls (which also pre-fault every
buffer). GB/s counts what the speed experiment counts for apply: the rotated channels read and
written once (2 * seq * heads * d' * 4 bytes per array). The speed experiment rotates q and k in
place, so its GB/s is compared with posbench's in-place apply (out=q); an apply into a separate
pre-faulted `out` array is reported as well (it writes a second array). Prints the machine's load
before and after: on a shared machine the figures are only as good as the quiet they ran in.

The ratios the issue asks for: posbench in place / CLI >= 0.9, posbench / torch >= 10.
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

import posbench


def median_seconds(fn, reps, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def speed_experiment(seq, heads, head_dim, threads, repetitions):
    """The speed experiment's apply record for rope (simd, float32) at `threads`, run by
    posbench.run: the code `posbench run` runs, in this process, so its rounds can alternate
    with the Python calls (the machine's bandwidth drifts over seconds when it is shared)."""
    config = {
        "name": "apply-speed-py", "seed": 0,
        "experiments": [{
            "type": "speed", "operations": ["apply"],
            "shapes": [{"seq": seq, "heads": heads, "head_dim": head_dim}],
            "threads": [threads], "dtype": "float32", "implementations": ["simd"],
            "min_time": 0.2, "repetitions": repetitions, "probe_mib": 64,
            "encoders": [{"name": "rope"}]}]}
    doc = posbench.run(config, threads=threads)
    records = [b for b in doc["experiments"][0]["encoders"][0]["extra"]["benchmarks"]
               if b.get("operation") == "apply" and b.get("implementation") == "simd"]
    if len(records) != 1:
        sys.exit(f"expected one apply/simd record, found {len(records)}")
    return records[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seq", type=int, default=4096)
    ap.add_argument("--heads", type=int, default=32)
    ap.add_argument("--head-dim", type=int, default=128)
    ap.add_argument("--reps", type=int, default=15, help="Python calls per round")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    import torch  # Debian python3-torch; only this script needs it

    seq, heads, hd, threads = args.seq, args.heads, args.head_dim, args.threads
    shape = (seq, heads, hd)
    load_before = os.getloadavg()
    print(f"shape [seq, heads, head_dim] = {list(shape)}, float32, threads {threads}, "
          f"{os.cpu_count()} cores; load average before: "
          + ", ".join(f"{v:.2f}" for v in load_before))
    array_bytes = 2 * seq * heads * hd * 4  # read + write of one array (d' = head_dim)

    # 1 and 2, in alternating rounds: the speed experiment (2 repetitions per round; q and k in
    # place: twice the bytes of one array per call), then posbench.apply in place and into out.
    # q: 64-byte aligned (posbench.empty; as the speed experiment's buffers and PyTorch's CPU
    # tensors are); q_np: the same values in numpy's own allocation, which is 16-byte aligned,
    # so that every 64-byte vector load of the kernel straddles two cache lines.
    rng = np.random.default_rng(0)
    q_np = rng.uniform(-1, 1, shape).astype(np.float32)
    q = posbench.empty(shape, np.float32)
    q[...] = q_np
    out = posbench.empty(shape, np.float32)
    out.fill(0)  # pre-fault
    enc = posbench.Encoder("rope")
    cli, inplace, inplace_np, into_out, ratios, ratios_np, unreliable = [], [], [], [], [], [], 0
    for _ in range(args.rounds):
        rec = speed_experiment(seq, heads, hd, threads, 2)
        unreliable += bool(rec.get("unreliable"))
        t_in, _ = median_seconds(lambda: enc.apply(q, out=q, threads=threads), args.reps)
        t_np, _ = median_seconds(lambda: enc.apply(q_np, out=q_np, threads=threads), args.reps)
        t_out, _ = median_seconds(lambda: enc.apply(q, out=out, threads=threads), args.reps)
        cli.append(rec["gb_per_s"]["median"])
        inplace.append(array_bytes / t_in / 1e9)
        inplace_np.append(array_bytes / t_np / 1e9)
        into_out.append(array_bytes / t_out / 1e9)
        ratios.append(inplace[-1] / cli[-1])
        ratios_np.append(inplace_np[-1] / cli[-1])
    cli_gbs, py_gbs, py_np_gbs, py_out_gbs = (statistics.median(v)
                                              for v in (cli, inplace, inplace_np, into_out))
    t_inplace, t_out = array_bytes / py_gbs / 1e9, array_bytes / py_out_gbs / 1e9
    print(f"speed experiment (posbench.run; apply, simd): {cli_gbs:7.2f} GB/s  median over "
          f"{args.rounds} rounds (per round: " + ", ".join(f"{v:.1f}" for v in cli) + "); "
          f"{unreliable} of {args.rounds} rounds marked unreliable by the experiment")
    print(f"posbench.Encoder('rope').apply(q, out=q):     {py_gbs:7.2f} GB/s  "
          f"{t_inplace * 1e3:.2f} ms  (q from posbench.empty, 64-byte aligned; per round: "
          + ", ".join(f"{v:.1f}" for v in inplace) + ")")
    print(f"  the same on numpy's own array (16-byte aligned): {py_np_gbs:7.2f} GB/s  "
          f"{array_bytes / py_np_gbs / 1e6:.2f} ms")
    print(f"posbench.Encoder('rope').apply(q, out=out):   {py_out_gbs:7.2f} GB/s  "
          f"{t_out * 1e3:.2f} ms  (a second array written)")

    # 3. HuggingFace-style PyTorch: q * cos + rotate_half(q) * sin, cos/sin precomputed
    torch.set_num_threads(threads)
    inv_freq = 1.0 / (10000.0 ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    freqs = torch.outer(torch.arange(seq, dtype=torch.float64), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos = emb.cos().to(torch.float32)[:, None, :]  # [seq, 1, head_dim], broadcast over heads
    sin = emb.sin().to(torch.float32)[:, None, :]
    qt = torch.from_numpy(q.copy())

    def rotate_half(x):
        x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
        return torch.cat((-x2, x1), dim=-1)

    # The same formula into pre-allocated, pre-faulted buffers: torch's arithmetic without the
    # cost of allocating (and first touching) the temporaries, which HF's code does pay.
    a, b, res = (torch.zeros_like(qt) for _ in range(3))

    def hf_preallocated():
        torch.mul(qt, cos, out=a)
        torch.neg(qt[..., hd // 2:], out=b[..., : hd // 2])
        b[..., hd // 2:].copy_(qt[..., : hd // 2])
        torch.mul(b, sin, out=b)
        return torch.add(a, b, out=res)

    with torch.no_grad():
        t_torch, _ = median_seconds(lambda: qt * cos + rotate_half(qt) * sin, args.reps)
        t_torch_pre, _ = median_seconds(hf_preallocated, args.reps)
        ours = torch.from_numpy(enc.apply(qt.numpy(), threads=threads))
        diff = float((qt * cos + rotate_half(qt) * sin - ours).abs().max())
        diff_pre = float((hf_preallocated() - ours).abs().max())
    torch_gbs = array_bytes / t_torch / 1e9
    print(f"HF-style torch (q*cos + rotate_half(q)*sin): {torch_gbs:7.2f} GB/s  "
          f"{t_torch * 1e3:.2f} ms  (torch {torch.__version__}, {torch.get_num_threads()} "
          f"threads); max |torch - posbench| = {diff:.2e}")
    print(f"  the same formula into pre-allocated buffers: "
          f"{array_bytes / t_torch_pre / 1e9:7.2f} GB/s  {t_torch_pre * 1e3:.2f} ms; "
          f"max |torch - posbench| = {diff_pre:.2e}")

    load_after = os.getloadavg()
    print(f"ratio posbench in place / speed experiment: {statistics.median(ratios):.3f}  (>= 0.9; "
          "median of the rounds' ratios: " + ", ".join(f"{r:.2f}" for r in ratios) + ")")
    print(f"  the same on numpy's own array:            {statistics.median(ratios_np):.3f}  "
          "(rounds: " + ", ".join(f"{r:.2f}" for r in ratios_np) + ")")
    print(f"ratio posbench out= / speed experiment:     {py_out_gbs / cli_gbs:.3f}  (of medians)")
    print(f"speedup posbench (in place) over HF torch:      {t_torch / t_inplace:.1f}x  (>= 10)")
    print(f"speedup posbench (out=) over HF torch:          {t_torch / t_out:.1f}x")
    print(f"speedup posbench (in place) over torch pre-allocated: {t_torch_pre / t_inplace:.1f}x")
    print("load average after: " + ", ".join(f"{v:.2f}" for v in load_after)
          + " (a shared machine: repeat when the load was high)")


if __name__ == "__main__":
    main()
