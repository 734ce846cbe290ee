"""posbench.Encoder (harness/python/encoder.cpp): every method against an independent float64
numpy formula written here (RoPE's and xPos's coefficients from base and dims, the sinusoidal
table, ALiBi's slopes for a power-of-two head count), zero-copy with out=, refusal of arrays it
would have to copy, and ValueErrors that carry the CLI's JSON paths."""

import numpy as np
import pytest

import posbench


def rope_inv_freq(base, rd):
    return base ** (-np.arange(0, rd, 2, dtype=np.float64) / rd)


def rotate_ref(x, cos, sin, rd, interleaved):
    """x [n, heads, head_dim] float64; cos/sin [n, rd/2]: pair (a, b) -> (a c - b s, a s + b c)."""
    y = x.astype(np.float64).copy()
    half = rd // 2
    ia = np.arange(0, rd, 2) if interleaved else np.arange(half)
    ib = ia + 1 if interleaved else ia + half
    c, s = cos[:, None, :], sin[:, None, :]
    a, b = y[..., ia].copy(), y[..., ib].copy()
    y[..., ia] = a * c - b * s
    y[..., ib] = a * s + b * c
    return y


def test_properties_and_resolved_params():
    enc = posbench.Encoder("rope", base=500000)
    assert enc.name == "rope" and enc.family == "rotary"
    assert enc.params["base"] == 500000
    assert enc.params["layout"] == "half" and enc.params["rotary_fraction"] == 1.0  # defaults
    assert posbench.Encoder("alibi").family == "bias"
    assert posbench.Encoder("sinusoidal").family == "additive"
    assert enc.rotary_dims(128) == 128
    assert posbench.Encoder("rope", rotary_fraction=0.25).rotary_dims(64) == 16


def test_rope_coefficients_closed_form():
    enc = posbench.Encoder("rope", base=500000)
    pos = np.array([0, 1, 7, 4095, 100000])
    cos, sin = enc.rotary_coefficients(pos, 128)
    assert cos.shape == (5, 64) and cos.dtype == np.float64
    angle = pos[:, None] * rope_inv_freq(500000.0, 128)[None, :]
    # base**x rounds differently in C++ and numpy: an angle of 1e5 rad differs by ~1e-11
    tol = 1e-15 * (1 + angle.max())
    np.testing.assert_allclose(cos, np.cos(angle), rtol=0, atol=tol)
    np.testing.assert_allclose(sin, np.sin(angle), rtol=0, atol=tol)
    c8, _ = enc.rotary_coefficients(8, 16)  # an int n: positions 0..7
    np.testing.assert_allclose(c8, np.cos(np.arange(8)[:, None] * rope_inv_freq(500000.0, 16)),
                               atol=1e-13)


@pytest.mark.parametrize("layout,fraction", [("half", 1.0), ("interleaved", 0.5)])
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 3e-6)])
def test_rope_apply_matches_formula(layout, fraction, dtype, tol):
    rng = np.random.default_rng(1)
    n, heads, hd, offset = 37, 3, 16, 11
    x = rng.uniform(-1, 1, (n, heads, hd)).astype(dtype)
    x_before = x.copy()
    enc = posbench.Encoder("rope", base=10000, layout=layout, rotary_fraction=fraction)
    y = enc.apply(x, offset=offset)
    assert y.dtype == dtype and y.shape == x.shape
    assert not np.shares_memory(x, y)
    np.testing.assert_array_equal(x, x_before)  # input untouched without out=
    rd = int(hd * fraction)
    angle = (offset + np.arange(n))[:, None] * rope_inv_freq(10000.0, rd)[None, :]
    ref = rotate_ref(x, np.cos(angle), np.sin(angle), rd, layout == "interleaved")
    np.testing.assert_allclose(y, ref, rtol=0, atol=tol)
    np.testing.assert_array_equal(y[..., rd:], x[..., rd:])  # channels past d' pass through
    # [n, head_dim] is one head
    y2 = enc.apply(np.ascontiguousarray(x[:, 0, :]), offset=offset)
    np.testing.assert_allclose(y2, ref[:, 0, :], rtol=0, atol=tol)


def test_xpos_role_scales_queries_and_keys_oppositely():
    n, hd, sb = 9, 8, 512.0
    enc = posbench.Encoder("xpos")  # interleaved, scale_base 512, uncentred
    i = np.arange(hd // 2)
    zeta = (2 * i + 0.4 * hd) / (1.4 * hd)
    angle = np.arange(n)[:, None] * rope_inv_freq(10000.0, hd)[None, :]
    x = np.random.default_rng(2).uniform(-1, 1, (n, 1, hd))
    for role, sign in (("query", 1.0), ("key", -1.0)):
        mag = zeta[None, :] ** (sign * np.arange(n)[:, None] / sb)
        cos, sin = enc.rotary_coefficients(n, hd, role=role)
        np.testing.assert_allclose(cos, mag * np.cos(angle), rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(sin, mag * np.sin(angle), rtol=1e-13, atol=1e-15)
        y = enc.apply(x, role=role)
        ref = rotate_ref(x, mag * np.cos(angle), mag * np.sin(angle), hd, True)
        np.testing.assert_allclose(y, ref, rtol=0, atol=1e-12)


def test_sinusoidal_table_and_apply():
    d, base = 12, 10000.0
    enc = posbench.Encoder("sinusoidal")
    pos = np.array([0, 3, 50, 1000])
    t = enc.table(pos, d)
    angle = pos[:, None] * base ** (-np.arange(0, d, 2) / d)[None, :]
    ref = np.empty((4, d))
    ref[:, 0::2], ref[:, 1::2] = np.sin(angle), np.cos(angle)
    np.testing.assert_allclose(t, ref, rtol=0, atol=1e-12)
    concat = posbench.Encoder("sinusoidal", layout="concat").table(pos, d)
    np.testing.assert_allclose(concat[:, : d // 2], np.sin(angle), atol=1e-12)
    np.testing.assert_allclose(concat[:, d // 2:], np.cos(angle), atol=1e-12)
    x = np.random.default_rng(3).uniform(-1, 1, (5, d))
    y = enc.apply(x, offset=998)
    angle = (998 + np.arange(5))[:, None] * base ** (-np.arange(0, d, 2) / d)[None, :]
    pe = np.empty((5, d))
    pe[:, 0::2], pe[:, 1::2] = np.sin(angle), np.cos(angle)
    np.testing.assert_allclose(y, x + pe, rtol=0, atol=1e-12)


def test_alibi_bias_and_apply():
    heads = 8
    enc = posbench.Encoder("alibi")
    q, k = np.array([0, 4, 9]), np.arange(6)
    b = enc.bias(q, k, heads)
    assert b.shape == (heads, 3, 6)
    slopes = 2.0 ** (-8.0 * np.arange(1, heads + 1) / heads)
    ref = -slopes[:, None, None] * np.abs(q[None, :, None] - k[None, None, :])
    np.testing.assert_allclose(b, ref, rtol=1e-15, atol=0)
    logits = np.random.default_rng(4).uniform(-1, 1, (heads, 4, 7)).astype(np.float32)
    y = enc.apply(logits, offset=2)
    qi = 2 + np.arange(4)
    ref = logits + (-slopes[:, None, None] * np.abs(qi[None, :, None] - np.arange(7)[None, None, :]))
    np.testing.assert_allclose(y, ref.astype(np.float32), rtol=0, atol=1e-5)


def test_zero_copy_with_out_and_in_place():
    enc = posbench.Encoder("rope")
    x = np.random.default_rng(5).uniform(-1, 1, (64, 4, 32)).astype(np.float32)
    out = np.empty_like(x)
    r = enc.apply(x, out=out)
    assert r is out or np.shares_memory(r, out)
    expected = enc.apply(x)
    np.testing.assert_array_equal(out, expected)
    x2 = x.copy()
    r2 = enc.apply(x2, out=x2)  # in place
    assert np.shares_memory(r2, x2)
    np.testing.assert_array_equal(x2, expected)
    # additive and bias too
    s = posbench.Encoder("sinusoidal")
    e = np.zeros((6, 8))
    r3 = s.apply(e, out=e)
    assert np.shares_memory(r3, e)
    np.testing.assert_allclose(e, s.table(6, 8), atol=1e-15)


@pytest.mark.parametrize("shape,dtype", [((4096, 3, 5), "float32"), ((7,), "float64"),
                                         ((0, 4), "float32"), (5, "int64")])
def test_empty_is_64_byte_aligned_c_order(shape, dtype):
    a = posbench.empty(shape, dtype)
    want = (shape,) if isinstance(shape, int) else shape
    assert a.shape == want and a.dtype == np.dtype(dtype)
    assert a.flags.c_contiguous and a.flags.writeable
    assert a.size == 0 or a.ctypes.data % 64 == 0  # an empty array has no data to align
    a[...] = 1  # the whole extent is writable memory of its own
    assert a.sum() == a.size


def test_new_results_are_64_byte_aligned_and_equal_on_any_alignment():
    enc = posbench.Encoder("rope")
    x = np.random.default_rng(6).uniform(-1, 1, (33, 4, 64)).astype(np.float32)
    r = enc.apply(x)  # a new array: posbench allocates it aligned
    assert r.ctypes.data % 64 == 0 and r.flags.c_contiguous and r.flags.owndata is False
    ref = rotate_ref(x, *enc.rotary_coefficients(33, 64), 64, False)
    np.testing.assert_allclose(r, ref, rtol=0, atol=2e-6)
    # the kernel gives the same numbers on an aligned and on a misaligned (16 bytes off) input
    a = posbench.empty(x.shape)
    a[...] = x
    buf = np.empty(x.size + 32, np.float32)
    off = ((-buf.ctypes.data) % 64) // 4 + 4  # 16 bytes past a 64-byte boundary
    m = buf[off:off + x.size].reshape(x.shape)
    m[...] = x
    assert m.ctypes.data % 64 == 16
    np.testing.assert_array_equal(enc.apply(a, out=a), r)
    np.testing.assert_array_equal(enc.apply(m, out=m), r)
    del x  # the result outlives its input and the encoder's cache
    r2 = np.array(r)
    del enc
    np.testing.assert_array_equal(r, r2)


def test_arrays_it_would_copy_are_refused():
    enc = posbench.Encoder("rope")
    x = np.ones((8, 2, 16), dtype=np.float32)
    with pytest.raises(ValueError, match=r"^x: got an int64 array of shape \(8, 2, 16\), expected "
                                         r"a C-contiguous float32 or float64"):
        enc.apply(np.ones((8, 2, 16), dtype=np.int64))
    with pytest.raises(ValueError, match=r"not C-contiguous.*np\.ascontiguousarray"):
        enc.apply(np.ones((16, 2, 8), dtype=np.float32).transpose(2, 1, 0))
    with pytest.raises(ValueError, match=r"float16"):
        enc.apply(x.astype(np.float16))
    with pytest.raises(ValueError, match=r"^x: got a list, expected a numpy array"):
        enc.apply(x.tolist())
    with pytest.raises(ValueError, match=r"^out: got a float64 array"):
        enc.apply(x, out=np.empty((8, 2, 16)))
    with pytest.raises(ValueError, match=r"^out: got a float32 array of shape \(8, 2, 8\)"):
        enc.apply(x, out=np.empty((8, 2, 8), dtype=np.float32))
    ro = np.empty_like(x)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"^out: got a read-only array"):
        enc.apply(x, out=ro)
    big = np.ones((9, 2, 16), dtype=np.float32)
    with pytest.raises(ValueError, match=r"^out: overlaps x without being x"):
        enc.apply(big[:8], out=big[1:])


def test_user_errors_carry_the_cli_paths():
    with pytest.raises(ValueError) as e:
        posbench.Encoder("rope", bsae=3)
    assert str(e.value).startswith("params.bsae: unknown parameter 'bsae'; did you mean 'base'?")
    with pytest.raises(ValueError, match=r"^params\.base: got -1"):
        posbench.Encoder("rope", base=-1)
    with pytest.raises(ValueError, match=r"^params\.scaling\.factor: "):
        posbench.Encoder("rope", scaling={"rope_type": "linear", "factor": -2})
    with pytest.raises(ValueError, match=r"^name: unknown scheme 'rop'; did you mean 'rope'\?"):
        posbench.Encoder("rop")
    with pytest.raises(ValueError, match=r"^params\.base: got a set, expected a JSON value"):
        posbench.Encoder("rope", base={1})
    enc = posbench.Encoder("rope")
    with pytest.raises(ValueError, match=r"^x: shape \(4, 5, 2\) has 3 dimensions, expected "
                                         r"\[n, d\] for the additive scheme 'sinusoidal'$"):
        posbench.Encoder("sinusoidal").apply(np.ones((4, 5, 2)))
    with pytest.raises(ValueError, match=r"^x: "):
        enc.apply(np.ones((4, 2, 7), dtype=np.float32))  # odd head_dim
    with pytest.raises(ValueError, match=r'^role: got "value", expected one of query, key'):
        enc.apply(np.ones((4, 2, 8)), role="value")
    with pytest.raises(ValueError, match=r"^offset: got -1"):
        enc.apply(np.ones((4, 2, 8)), offset=-1)
    with pytest.raises(ValueError, match=r"'rope' is a rotary scheme; table\(\) is for additive"):
        enc.table(4, 8)
    with pytest.raises(ValueError, match=r"^positions: got -2 at index 1, expected positions >= 0"):
        enc.rotary_coefficients([0, -2], 8)
    with pytest.raises(ValueError, match=r"^positions: got a float64 array"):
        enc.rotary_coefficients(np.array([0.5, 1.0]), 8)
    learned = posbench.Encoder("learned", max_len=8)
    with pytest.raises(ValueError, match=r"^positions: "):
        learned.table([3, 9], 4)
    with pytest.raises(ValueError, match=r"^params\.slopes: "):
        posbench.Encoder("alibi", slopes=[0.5, 0.25]).bias(2, 2, 4)


def test_gil_is_released_during_computation():
    """While a worker thread is inside one long posbench call, the main thread keeps running
    Python code. With the GIL held it could run for at most one switch interval (5 ms) of the
    call; here it must have run in most 10 ms slices of it."""
    import threading
    import time
    enc = posbench.Encoder("sinusoidal")
    n, d = 200000, 32  # 6.4e6 float64 sin/cos, serial: ~0.1-0.3 s
    span = {}

    def worker():
        span["start"] = time.perf_counter()
        enc.table(n, d)
        span["end"] = time.perf_counter()

    ticks = []
    t = threading.Thread(target=worker)
    t.start()
    while t.is_alive():
        ticks.append(time.perf_counter())
    t.join()
    start, end = span["start"], span["end"]
    assert end - start > 0.05, "the call was too short to tell"
    slices = np.arange(start, end - 0.01, 0.01)
    ticks = np.array(ticks)
    hit = [np.any((ticks >= s) & (ticks < s + 0.01)) for s in slices]
    assert np.mean(hit) > 0.5, f"main thread ran in {np.mean(hit):.0%} of the call's 10 ms slices"
