"""A step's tiles side by side on numdream's threads (numdream/fast/tiles.py): the same value and
gradient as one after another, on several threads, and one after another where the objective
or the plan asks for it."""
import importlib
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from numdream.dream import objective_gradient, tile_bounds
from numdream.fast import threads, tiles
from numdream.model import Model
from numdream.objectives import L2
from tiny_model import tiny_spec

dream_module = importlib.import_module("numdream.dream")  # the package's name 'dream' is the function


@pytest.mark.parametrize("count, cores, together, in_flight", [
    (4, 2, 4, 2), (3, 2, 2, 2), (5, 2, 4, 2), (1, 2, 0, 1), (2, 2, 2, 2), (7, 3, 6, 3), (2, 3, 0, 1), (4, 1, 0, 1)])
def test_tiles_side_by_side_come_in_whole_rounds(count, cores, together, in_flight):
    assert tiles.side_by_side(count, True, cores) == together
    assert tiles.at_once(count, True, cores) == in_flight
    assert tiles.side_by_side(count, False, cores) == 0 and tiles.at_once(count, False, cores) == 1


def _blas_threads():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def _spy_on_tiles(monkeypatch, blas=None):
    """Each tile's (thread, workers() inside it) as objective_gradient runs it; with a list
    ``blas``, also BLAS's thread counts there."""
    seen, real = [], dream_module.piece_gradient

    def spied(model, x, objective):
        seen.append((threading.get_ident(), tiles.workers()))
        if blas is not None:
            blas.append(_blas_threads())
        return real(model, x, objective)
    monkeypatch.setattr(dream_module, "piece_gradient", spied)
    return seen


@pytest.mark.parametrize("width", [96, 64])  # 3x3 tiles (8 side by side, the last split), 3x2
def test_tiles_side_by_side_give_the_gradient_of_tiles_in_turn(monkeypatch, width):
    monkeypatch.setenv("NUMDREAM_THREADS", "2")
    model = Model(tiny_spec(), np.float64)
    x = np.random.default_rng(3).uniform(-1, 1, (1, 3, 96, width))
    seen = _spy_on_tiles(monkeypatch)
    value, grad = objective_gradient(model, x, L2("mixed"), tile_size=32)
    count = len(tile_bounds(96, 32)) * len(tile_bounds(width, 32))
    assert len(seen) == count and len({t for t, _ in seen}) == 2  # both threads ran whole tiles
    together = tiles.side_by_side(count, True, 2)
    assert [w for _, w in seen[:together]] == [1] * together  # those ran unsplit
    assert [w for _, w in seen[together:]] == [2] * (count - together)  # the rest split as before

    class InTurn(L2):
        concurrent_tiles = False
    seen.clear()
    value_in_turn, grad_in_turn = objective_gradient(model, x, InTurn("mixed"), tile_size=32)
    # the caller, outside own_cores() as before tiles ran side by side (each pass enters its own)
    assert {t for t, _ in seen} == {threading.get_ident()} and {w for _, w in seen} == {1}
    np.testing.assert_allclose(grad, grad_in_turn, rtol=1e-12, atol=1e-12)
    assert value == pytest.approx(value_in_turn, rel=1e-12)


def test_the_readable_plan_and_an_objective_without_the_flag_run_tiles_in_turn(monkeypatch):
    monkeypatch.setenv("NUMDREAM_THREADS", "2")
    x = np.random.default_rng(4).uniform(-1, 1, (1, 3, 64, 64))
    blas = []
    seen = _spy_on_tiles(monkeypatch, blas)
    objective_gradient(Model(tiny_spec(), np.float64, fuse=False), x, L2("mixed"), tile_size=32)
    assert len(seen) == 4 and len({t for t, _ in seen}) == 1
    assert blas == [_blas_threads()] * 4  # the readable plan leaves BLAS its own threads

    class DuckTyped:  # not an Objective: nothing says its calls may overlap
        layers = {"mixed": 1.0}
        whole_image = False

        def __call__(self, acts):
            return float((acts["mixed"] ** 2).sum()) / 2, {"mixed": acts["mixed"]}
    seen.clear()
    objective_gradient(Model(tiny_spec(), np.float64), x, DuckTyped(), tile_size=32)
    assert len(seen) == 4 and len({t for t, _ in seen}) == 1


def test_an_error_in_a_tile_reaches_the_caller(monkeypatch):
    monkeypatch.setenv("NUMDREAM_THREADS", "2")
    model = Model(tiny_spec(), np.float64)
    calls = []

    def failing(model, x, objective):
        calls.append(1)
        raise RuntimeError("a tile that fails")
    monkeypatch.setattr(dream_module, "piece_gradient", failing)
    with pytest.raises(RuntimeError, match="a tile that fails"):
        objective_gradient(model, np.zeros((1, 3, 64, 64)), L2("mixed"), tile_size=32)
    assert 1 <= len(calls) <= 2  # of four tiles: none starts after the first has failed


def test_tiles_side_by_side_keep_the_callers_numpy_error_settings(monkeypatch):
    """numpy.errstate is the caller's context: the pool's threads must see it too (a dream's
    non-finite step is one line, not a RuntimeWarning from each thread)."""
    import warnings
    monkeypatch.setenv("NUMDREAM_THREADS", "2")
    huge = np.full((1, 3, 4, 4), 1e300)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="ignore"), threads.own_cores():
            products = []
            threads.run_pieces(lambda: products.append(huge * huge) for _ in range(4))
    assert len(products) == 4 and all(np.isinf(p).all() for p in products)
