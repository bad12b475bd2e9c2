"""numdream's own threads (numdream/fast/threads.py): pieces that give the result of the whole,
BLAS held at one thread inside own_cores() and restored after, errors that reach the caller."""
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from numdream import ops
from numdream.fast import conv as fast_conv
from numdream.fast import threads, winograd
from numdream.model import load_model


def _blas_threads():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


@pytest.mark.parametrize("environ, expected", [
    ({"NUMDREAM_THREADS": "3"}, 3), ({"NUMDREAM_THREADS": "3", "OMP_NUM_THREADS": "1"}, 3),
    ({"OMP_NUM_THREADS": "1"}, 1), ({"OPENBLAS_NUM_THREADS": "2"}, 2), ({"NUMDREAM_THREADS": "99"}, 8),
    ({"OMP_NUM_THREADS": "4,2", "MKL_NUM_THREADS": "4"}, 4),  # BLAS's variables: what can be read
])
def test_configured_workers_follow_the_environment(environ, expected):
    assert threads.configured_workers(environ) == expected


@pytest.mark.parametrize("value", ["zero", "0", "-2", "1.5", "\u00b2"])
def test_a_bad_numdream_threads_is_one_line_naming_it(value):
    from numdream.errors import NumdreamError
    with pytest.raises(NumdreamError, match=f"NUMDREAM_THREADS must be a whole number of threads >= 1, got '{value}'"):
        threads.configured_workers({"NUMDREAM_THREADS": value})


def test_own_cores_holds_blas_at_one_thread_and_restores_it(monkeypatch):
    monkeypatch.setenv("NUMDREAM_THREADS", "2")
    before = _blas_threads()
    assert before, "threadpoolctl sees NumPy's BLAS"
    assert threads.workers() == 1
    with threads.own_cores():
        assert threads.workers() == 2 and set(_blas_threads()) == {1}
        with threads.own_cores():  # re-entrant: the inner one changes nothing
            assert threads.workers() == 2
        assert set(_blas_threads()) == {1}
    assert _blas_threads() == before and threads.workers() == 1
    with threads.own_cores("cupy"):  # GPU arrays are not split
        assert threads.workers() == 1 and _blas_threads() == before


def test_one_thread_leaves_blas_alone(monkeypatch):
    monkeypatch.setenv("NUMDREAM_THREADS", "1")
    before = _blas_threads()
    with threads.own_cores():
        assert threads.workers() == 1 and _blas_threads() == before


def test_run_pieces_runs_every_job_once_on_several_threads(monkeypatch):
    monkeypatch.setenv("NUMDREAM_THREADS", "3")
    seen, lock, gate = [], threading.Lock(), threading.Barrier(3, timeout=10)

    def job(i):
        if i < 3:
            gate.wait()  # the first three can only pass together: three threads at once
        with lock:
            seen.append((i, threading.get_ident(), threads.workers()))
    with threads.own_cores():
        threads.run_pieces(lambda i=i: job(i) for i in range(10))
    assert sorted(i for i, _, _ in seen) == list(range(10))
    assert len({ident for _, ident, _ in seen}) == 3
    assert {w for _, _, w in seen} == {1}  # a piece does not split again


def test_the_caller_does_not_wait_for_a_pool_thread_that_took_no_job(monkeypatch):
    """A pool thread slow to start (busy here; on a VM, a halted core waking) holds up nothing:
    the caller takes every job and returns, and the pool thread skips its share when it is free."""
    monkeypatch.setenv("NUMDREAM_THREADS", "2")
    shared = {key: value for key, value in threads._shared.items() if not key.startswith("pool")}
    monkeypatch.setattr(threads, "_shared", shared)  # a pool of its own, of one thread
    release, ran = threading.Event(), []
    try:
        with threads.own_cores():
            blocker = threads._pool(1).submit(release.wait, 10)  # that one thread, busy
            try:
                threads.run_pieces(lambda i=i: ran.append((i, threading.current_thread())) for i in range(3))
                assert sorted(i for i, _ in ran) == [0, 1, 2]
                assert {t for _, t in ran} == {threading.current_thread()} and not blocker.done()
            finally:
                release.set()
            blocker.result(timeout=10)
            both = threading.Barrier(2, timeout=10)  # the next call's two jobs can only pass together
            threads.run_pieces([both.wait] * 2)
    finally:
        if "pool" in shared:
            shared["pool"].shutdown(wait=True)


def test_an_error_in_a_piece_reaches_the_caller_and_stops_the_rest(monkeypatch):
    import time
    monkeypatch.setenv("NUMDREAM_THREADS", "2")
    done = []

    def job(i):
        if i == 1:
            raise ValueError("piece 1 failed")
        time.sleep(0.01)
        done.append(i)
    with threads.own_cores(), pytest.raises(ValueError, match="piece 1 failed"):
        threads.run_pieces(lambda i=i: job(i) for i in range(20))
    assert len(done) <= 3  # the jobs running when it failed finish; no new one starts


def test_pieces_see_blas_at_one_thread_and_nested_own_cores_does_not_split_again(monkeypatch):
    monkeypatch.setenv("NUMDREAM_THREADS", "2")
    seen, gate = [], threading.Barrier(2, timeout=10)

    def piece():
        gate.wait()  # both runners at once: one of them on a pool thread
        with threads.own_cores():  # inside a piece: nothing to hold, nothing to split
            threads.run_pieces([lambda: None] * 3)
            seen.append((threading.current_thread().name, threads.workers(), set(_blas_threads())))
    with threads.own_cores():
        threads.run_pieces([piece, piece])
    assert {w for _, w, _ in seen} == {1} and all(b == {1} for _, _, b in seen)
    assert any(name.startswith("numdream") for name, _, _ in seen)


def test_a_second_thread_runs_unsplit_while_the_first_holds_blas(monkeypatch):
    """BLAS's limit is process-wide: one holder at a time, which also restores it."""
    monkeypatch.setenv("NUMDREAM_THREADS", "2")
    before = _blas_threads()
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def caller_a():
        with threads.own_cores():
            a_in.set()
            b_in.wait(10)
            seen["a"] = threads.workers()
        a_out.set()

    def caller_b():
        a_in.wait(10)
        with threads.own_cores():
            seen["b"] = threads.workers()
            b_in.set()
            a_out.wait(10)
        with threads.own_cores():  # A is gone: B holds it now
            seen["b later"] = (threads.workers(), set(_blas_threads()))
    callers = [threading.Thread(target=caller_a), threading.Thread(target=caller_b)]
    for t in callers:
        t.start()
    for t in callers:
        t.join(20)
    assert seen == {"a": 2, "b": 1, "b later": (2, {1})}
    assert _blas_threads() == before


@pytest.mark.parametrize("count, most, pieces", [
    (21, 3, 2), (21, 7, 2), (11, 8, 2), (11, 100, 2), (10, 1, 3), (5, 2, 8), (1, 1, 2), (64, 64, 1)])
def test_even_chunks_fit_cover_once_and_come_in_a_multiple_of_the_threads(count, most, pieces):
    chunks = threads.even_chunks(count, most, pieces)
    assert [a for a, _ in chunks] == [0] + [b for _, b in chunks[:-1]] and chunks[-1][1] == count
    sizes = [b - a for a, b in chunks]
    assert max(sizes) <= most and max(sizes) - min(sizes) <= 1
    assert len(chunks) % pieces == 0 or len(chunks) == count  # 5 rows cannot make 8 chunks
    fewest = -(-count // most)
    assert len(chunks) < fewest + pieces  # no more than the rounding up asks


def test_the_fewest_chunks_that_fit_are_rounded_up_to_balance_two_threads():
    # 21 tile rows, at most 3 a chunk: 7 chunks would give one thread 4 and the other 3
    assert [b - a for a, b in threads.even_chunks(21, 3, 2)] == [2, 3, 2, 3, 3, 2, 3, 3]


@pytest.mark.parametrize("kernel, stride, padding", [
    ((3, 3), (1, 1), (1, 1, 1, 1)), ((1, 1), (1, 1), (0, 0, 0, 0)), ((3, 3), (2, 2), (0, 1, 0, 1)),
    ((1, 7), (1, 1), (0, 0, 3, 3))])
def test_im2col_convolution_in_pieces_equals_the_readable_op(monkeypatch, kernel, stride, padding):
    monkeypatch.setenv("NUMDREAM_THREADS", "3")
    monkeypatch.setattr(fast_conv, "MIN_PIECE_FLOPS", 1)   # split even these small layers
    monkeypatch.setattr(fast_conv, "CHUNK_ELEMENTS", 500)  # and into several row chunks
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 7, 15, 13)), rng.standard_normal((5, 7) + kernel), rng.standard_normal(5)
    y_ref, cache = ops.conv2d_forward(x, w, b, stride, padding)
    dy = rng.standard_normal(y_ref.shape)
    with threads.own_cores():
        y = fast_conv.conv2d_forward(x, w, b, stride, padding)
        dx = fast_conv.conv2d_backward_input(dy, x.shape, w, stride, padding)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, ops.conv2d_backward(dy, cache), rtol=1e-12, atol=1e-12)


def test_winograd_in_pieces_equals_the_readable_op(monkeypatch):
    monkeypatch.setenv("NUMDREAM_THREADS", "2")
    monkeypatch.setattr(winograd, "MIN_PIECE_FLOPS", 1)
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((1, 6, 23, 19)), rng.standard_normal((4, 6, 3, 3)), rng.standard_normal(4)
    u = winograd.transform_weights(w, 4)
    y_ref, cache = ops.conv2d_forward(x, w, b, (1, 1), (1, 1, 1, 1))
    dy = rng.standard_normal(y_ref.shape)
    with threads.own_cores():
        y = winograd.conv2d_forward(x, u, b, (1, 1, 1, 1), 4)
        dx = winograd.conv2d_backward_input(dy, x.shape, u, (1, 1, 1, 1), 4)
    assert np.abs(y - y_ref).max() <= 1e-10 * np.abs(y_ref).max()
    dx_ref = ops.conv2d_backward(dy, cache)
    assert np.abs(dx - dx_ref).max() <= 1e-10 * np.abs(dx_ref).max()


def test_a_step_on_several_threads_equals_the_step_on_one(monkeypatch):
    """The whole fused plan, float64, at a size where the layers really split."""
    x = np.random.default_rng(5).uniform(-1, 1, (1, 3, 139, 131))
    results, split_counts = [], []
    real_workers = threads.workers
    monkeypatch.setattr(threads, "workers", lambda: split_counts.append(real_workers()) or split_counts[-1])
    for count in ("1", "2"):
        monkeypatch.setenv("NUMDREAM_THREADS", count)
        split_counts.clear()
        model = load_model(dtype=np.float64, winograd=True)
        acts, tape = model.forward(x, ["mixed2"])
        results.append((acts["mixed2"], model.backward({"mixed2": np.ones_like(acts["mixed2"])}, tape)))
        assert max(split_counts) == int(count)  # the model's passes ran inside own_cores()
    (a, da), (b, db) = results
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(da, db, rtol=1e-12, atol=1e-12 * np.abs(db).max())


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_forked_child_runs_pieces_on_threads_of_its_own(monkeypatch):
    import multiprocessing
    monkeypatch.setenv("NUMDREAM_THREADS", "2")
    with threads.own_cores():
        threads.run_pieces([lambda: None] * 4)  # the parent's pool exists now
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        assert pool.apply_async(_pieces_in_child).get(timeout=60) == 4


def _pieces_in_child():
    done = []
    with threads.own_cores():
        threads.run_pieces(lambda i=i: done.append(i) for i in range(4))
    return len(done)


@pytest.mark.parametrize("size, stride, padding, ceil", [(3, 2, (0, 0, 0, 0), False), (3, 1, (1, 1, 1, 1), False),
                                                          (2, 2, (0, 0, 0, 0), True)])
@pytest.mark.parametrize("block", [1 << 20, 1, 500])  # the backward's blocks: whole pieces, 1 channel, 2
def test_max_pool_in_pieces_equals_the_readable_op_ties_included(monkeypatch, size, stride, padding, ceil, block):
    from numdream.fast import pool as fast_pool
    monkeypatch.setenv("NUMDREAM_THREADS", "3")
    monkeypatch.setattr(fast_pool, "MIN_PIECE_ELEMENTS", 1)
    monkeypatch.setattr(fast_pool, "BACKWARD_BLOCK_ELEMENTS", block)
    x = np.random.default_rng(6).integers(0, 3, (2, 7, 11, 10)).astype(np.float64)  # many ties
    y_ref, cache = ops.max_pool2d_forward(x, size, stride, padding, ceil)
    dy = np.random.default_rng(7).standard_normal(y_ref.shape)
    with threads.own_cores():
        y, pieces = fast_pool.max_pool2d_forward(x, size, stride, padding, ceil)
        dx = fast_pool.max_pool2d_backward(dy, pieces)
    assert isinstance(pieces, fast_pool.PiecesCache) and len(pieces.caches) == 3
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(dx, ops.max_pool2d_backward(dy, cache))


@pytest.mark.parametrize("workers", ["1", "3"])  # the whole pool, and its pieces
def test_max_pool_with_the_relu_after_it_equals_the_readable_ops(monkeypatch, workers):
    """relu=True: relu(maxpool(x)); relu_output= masks dy by it before routing, as
    ops.relu_backward then ops.max_pool2d_backward do."""
    from numdream.fast import pool as fast_pool
    monkeypatch.setenv("NUMDREAM_THREADS", workers)
    monkeypatch.setattr(fast_pool, "MIN_PIECE_ELEMENTS", 1)
    x = np.random.default_rng(8).integers(-2, 3, (2, 7, 11, 10)).astype(np.float64)  # ties, and 0s
    pooled, cache = ops.max_pool2d_forward(x, 3, 2)
    y_ref, relu_cache = ops.relu_forward(pooled)
    dy = np.random.default_rng(9).standard_normal(y_ref.shape)
    with threads.own_cores():
        y, pieces = fast_pool.max_pool2d_forward(x, 3, 2, relu=True)
        dx = fast_pool.max_pool2d_backward(dy, pieces, relu_output=y)
        with pytest.raises(ValueError, match="must agree"):
            fast_pool.max_pool2d_backward(dy, pieces, relu_output=y[:, 1:])
    assert isinstance(pieces, fast_pool.PiecesCache) == (workers == "3")
    assert 0 < (y_ref == 0).mean() < 1
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(dx, ops.max_pool2d_backward(ops.relu_backward(dy, relu_cache), cache))


def test_own_cores_inside_a_piece_neither_holds_nor_splits(monkeypatch):
    """The sentinel of _in_piece, with no holder about: the piece must not re-arm."""
    monkeypatch.setenv("NUMDREAM_THREADS", "2")
    before, seen = _blas_threads(), []

    def piece():
        with threads.own_cores():
            seen.append((threads.workers(), _blas_threads(), threads._holder["thread"]))
    threads._in_piece(piece)
    assert seen == [(1, before, None)]


def test_a_stale_hold_of_a_dead_thread_or_of_this_one_is_taken_over(monkeypatch):
    monkeypatch.setenv("NUMDREAM_THREADS", "2")
    dead = threading.Thread(target=lambda: None)
    dead.start()
    dead.join()
    for stale in (dead, threading.current_thread()):
        monkeypatch.setitem(threads._holder, "thread", stale)
        with threads.own_cores():
            assert threads.workers() == 2 and threads._holder["thread"] is threading.current_thread()
        assert threads._holder["thread"] is None


@pytest.mark.parametrize("how", ["signal", "interrupt_main"])
def test_ctrl_c_while_waiting_for_a_piece_waits_for_it_then_raises(monkeypatch, how):
    import _thread
    import os
    import signal
    import time
    monkeypatch.setenv("NUMDREAM_THREADS", "2")
    done, both = [], threading.Barrier(2, timeout=10)
    main = threading.main_thread()

    def job():
        both.wait()  # one job per runner
        if threading.current_thread() is main:  # the caller's share ends at once; it then waits
            ctrl_c = (lambda: os.kill(os.getpid(), signal.SIGINT)) if how == "signal" else _thread.interrupt_main
            threading.Timer(0.2, ctrl_c).start()  # ... and is interrupted there
        else:
            time.sleep(0.6)
            done.append("slow")
    start = time.perf_counter()
    with threads.own_cores(), pytest.raises(KeyboardInterrupt):
        threads.run_pieces([job, job])
    assert done == ["slow"] and time.perf_counter() - start >= 0.5  # it returned once the piece had ended
    assert threads._holder["thread"] is None


def test_relu_its_mask_and_concat_in_pieces_equal_the_readable_ops(monkeypatch):
    from numdream.fast import elementwise
    monkeypatch.setenv("NUMDREAM_THREADS", "3")
    monkeypatch.setattr(elementwise, "MIN_PIECE_ELEMENTS", 1)
    calls, real_run = [], elementwise.run_pieces

    def counted_run(jobs):
        jobs = list(jobs)
        calls.append(len(jobs))
        real_run(jobs)
    monkeypatch.setattr(elementwise, "run_pieces", counted_run)
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 7, 5, 6)).astype(np.float32)
    x[0, 0, 0, :3] = 0  # ReLU's gradient at 0 is 0, as the readable op has it
    dy = rng.standard_normal(x.shape).astype(np.float32)
    parts = [rng.standard_normal((2, c, 5, 6)) for c in (3, 1, 4)]
    y_ref, relu_cache = ops.relu_forward(x)
    with threads.own_cores():
        dx = elementwise.relu_backward(dy, y_ref)
        cat, cache = elementwise.concat_forward_in_pieces(parts)
    assert calls == [3, 3]  # each ran in pieces
    np.testing.assert_array_equal(dx, ops.relu_backward(dy, relu_cache))
    cat_ref, cache_ref = ops.concat_forward(parts, axis=1)
    np.testing.assert_array_equal(cat, cat_ref)
    assert cache == cache_ref
    for a, b in zip(ops.concat_backward(cat, cache), parts):
        np.testing.assert_array_equal(a, b)
