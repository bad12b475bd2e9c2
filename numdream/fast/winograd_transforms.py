"""The matrices of Winograd's minimal filtering F(m, r), built exactly from interpolation points.

F(m, r) computes m outputs of an r-tap correlation, y[k] = sum_j g[j] d[k + j], from a tile of
n = m + r - 1 inputs with n multiplications instead of m * r (Lavin & Gray 2015, "Fast
Algorithms for Convolutional Neural Networks"):

    y = AT @ ((G @ g) * (BT @ d))        AT: (m, n), G: (n, r), BT: (n, n)

It is the Toom-Cook algorithm, transposed. A linear convolution s = g * h of r and m
coefficients is a product of polynomials g(x) h(x), of degree n - 1: evaluate both at n points,
multiply there (n products), interpolate s back. With E_k the (n, k) evaluation matrix (rows
[1, p, p^2 ...] for each finite point p, and [0 ... 0, 1] for the point at infinity, which picks
the leading coefficient), s = E_n^-1 ((E_r g) * (E_m h)). The correlation is the transpose of
that linear map in h, hence AT = E_m^T, G = E_r, BT = E_n^-T. Any scaling D of the n products
gives the same result (G -> D G, BT -> D^-1 BT); Lavin's choice, kept here, puts the fractions
1 / prod_k (p_i - p_k) into G (the weights, transformed once per model) and leaves BT, applied
to every input tile, with small integers.

The points decide the accuracy. F(2, 3) uses 0, 1, -1 (and infinity): every coefficient of BT
and AT is 0 or +-1, so its float32 error is about that of the direct sum. F(4, 3) needs two
more points, 2 and -2: BT has entries 4 and 5, AT has 8, G has 1/24. Those larger coefficients
amplify float32 rounding, in the transformed input (a sum of terms up to 5x the pixel values,
rounded once, then multiplied) and in the output transform (products weighted by up to 8x,
summed with cancellation): measured 3-10x im2col's error on the real layers, still a few 1e-6
(tests/test_winograd.py, benchmarks/README.md). F(6, 3) adds +-1/2 (its AT has 32 and 1/32)
and roughly doubles the error again. The points 1/2 and -1/2 instead of 2 and -2 for F(4, 3)
give the same error within 10 % on those layers (measured), so Lavin's are kept.
"""
import functools
from fractions import Fraction

import numpy

# Finite interpolation points of each F(m, r) used here (infinity is always the last point).
# For F(4, 7), +-3/2 as the last pair gave the smallest float32 error of +-3, +-1/4, +-4 and (3, 1/3)
# on InceptionV3's 1x7 and 7x1 layers (1.8e-6 / 5.3e-6 forward / input gradient, against
# 2.6e-6 / 7.6e-6 for +-3); for F(4, 3), +-1/2 instead of +-2 made no difference (within 10 %).
POINTS = {
    (2, 3): (0, 1, -1),
    (4, 3): (0, 1, -1, 2, -2),
    (6, 3): (0, 1, -1, 2, -2, 0.5, -0.5),
    (2, 5): (0, 1, -1, 2, -2),
    (4, 5): (0, 1, -1, 2, -2, 0.5, -0.5),
    (2, 7): (0, 1, -1, 2, -2, 0.5, -0.5),
    (4, 7): (0, 1, -1, 2, -2, 0.5, -0.5, 1.5, -1.5),
    # 2-tap kernels: the phases of a stride-2 convolution (benchmarks/polyphase.py)
    (3, 2): (0, 1, -1),
    (4, 2): (0, 1, -1, 2),
    (5, 2): (0, 1, -1, 2, -2),
    (6, 2): (0, 1, -1, 2, -2, 0.5),
}


def toom_cook(m, r, points):
    """The exact matrices of F(m, r) for ``points`` (m + r - 2 distinct finite numbers).

    Returns (AT (m, n), G (n, r), BT (n, n)) as float64 arrays, n = m + r - 1, computed in
    rational arithmetic (fractions.Fraction) so that they hold no rounding of their own.
    """
    n = m + r - 1
    pts = [Fraction(p) for p in points]
    if len(pts) != n - 1 or len(set(pts)) != len(pts):
        raise ValueError(f"F({m}, {r}) needs {n - 1} distinct finite points, got {points!r}")

    def evaluation(k):  # (n, k): the polynomial of k coefficients at every point, infinity last
        return [[p ** j for j in range(k)] for p in pts] + [[Fraction(int(j == k - 1)) for j in range(k)]]

    scale = [_product(p - q for q in pts if q != p) for p in pts] + [Fraction(1)]
    e_n_inverse = _inverse(evaluation(n))
    at = [list(col) for col in zip(*evaluation(m))]
    g = [[v / s for v in row] for row, s in zip(evaluation(r), scale)]
    bt = [[e_n_inverse[k][i] * scale[i] for k in range(n)] for i in range(n)]  # diag(scale) E_n^-T
    return tuple(numpy.array([[float(v) for v in row] for row in mat]) for mat in (at, g, bt))


def _product(values):
    out = Fraction(1)
    for v in values:
        out *= v
    return out


def _inverse(mat):
    """Exact inverse of a square matrix of Fractions (Gauss-Jordan; the matrices are tiny)."""
    n = len(mat)
    a = [list(row) + [Fraction(int(i == j)) for j in range(n)] for i, row in enumerate(mat)]
    for col in range(n):
        pivot = next(i for i in range(col, n) if a[i][col] != 0)
        a[col], a[pivot] = a[pivot], a[col]
        a[col] = [v / a[col][col] for v in a[col]]
        for i in range(n):
            if i != col and a[i][col] != 0:
                a[i] = [v - a[i][col] * u for v, u in zip(a[i], a[col])]
    return [row[n:] for row in a]


@functools.lru_cache(maxsize=None)
def matrices(m, r):
    """(AT, G, BT) of F(m, r) with the points of POINTS; F(1, 1) (no tiling) is the identity."""
    if (m, r) == (1, 1):
        one = numpy.ones((1, 1))
        one.flags.writeable = False
        return one, one, one
    if (m, r) not in POINTS:
        raise ValueError(f"no Winograd points for F({m}, {r}); known: {sorted(POINTS)}")
    mats = toom_cook(m, r, POINTS[(m, r)])
    for mat in mats:
        mat.flags.writeable = False  # shared by every caller through the cache
    return mats
