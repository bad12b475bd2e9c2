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
1 / prod_k (p_i - p_k) into G (the weights, transformed once per model).

The points decide the accuracy, and one more property. F(2, 3) uses 0, 1, -1 (and infinity):
every coefficient of BT and AT is 0 or +-1, so its float32 error is about that of the direct
sum. F(4, 3) needs two more points. Lavin's 2 and -2 give BT entries 4 and 5, AT an 8 and G a
1/24; larger coefficients amplify float32 rounding, in the transformed input (a sum of terms
up to 5x the pixel values, rounded, then multiplied) and in the output transform (products
weighted by up to 8x, summed with cancellation). Here F(4, 3) takes -2 and -1/2 instead: a set
closed under p -> 1/p (0 <-> infinity), which makes the transformed flipped kernel a
permutation of the transformed kernel (flip_permutation), so the input gradient reuses the
forward's U instead of a second copy (numdream/fast/winograd.py). It costs float32 accuracy:
measured on InceptionV3's 3x3 layers, 1.1e-6 / 3.2e-6 (forward / input gradient) against
7.1e-7 / 2.5e-6 with Lavin's points and 2.2e-7 / 2.5e-7 for im2col; the figures of every
kernel are in tests/test_winograd.py. Every set below is closed under inversion. Where there
was a choice it was measured the same way: -2, -1/2 beat 2, 1/2 by 1.1-1.6x for F(4, 3) and
2.5x for F(2, 5); for F(4, 7), 3, 1/3 and -3/2, -2/3 are within 15 %, and 3/2, 2/3 are 2x worse.
"""
import functools
import math
from fractions import Fraction

import numpy

# Finite interpolation points of each F(m, r) used here (infinity is always the last point).
POINTS = {
    (2, 3): (0, 1, -1),
    (4, 3): (0, 1, -1, -2, Fraction(-1, 2)),
    (6, 3): (0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2)),
    (2, 5): (0, 1, -1, -2, Fraction(-1, 2)),
    (4, 5): (0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2)),
    (2, 7): (0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2)),
    (4, 7): (0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2), 3, Fraction(1, 3)),
    (6, 7): (0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2), 3, -3, Fraction(1, 3), Fraction(-1, 3)),
    # 2-tap kernels: the phases of a stride-2 convolution (benchmarks/polyphase.py)
    (3, 2): (0, 1, -1),
    (4, 2): (0, 1, 2, Fraction(1, 2)),
    (5, 2): (0, 1, -1, -2, Fraction(-1, 2)),
}


def toom_cook(m, r, points):
    """The exact matrices of F(m, r) for ``points`` (m + r - 2 distinct finite numbers).

    Returns (AT (m, n), G (n, r), BT (n, n)) as float64 arrays, n = m + r - 1, computed in
    rational arithmetic (fractions.Fraction) so that they hold no rounding of their own.
    """
    return tuple(_floats(mat) for mat in exact_toom_cook(m, r, points))


def exact_toom_cook(m, r, points):
    """toom_cook's matrices, exactly: lists of rows of Fractions."""
    n = m + r - 1
    pts = [Fraction(p) for p in points]
    if len(pts) != n - 1 or len(set(pts)) != len(pts):
        raise ValueError(f"F({m}, {r}) needs {n - 1} distinct finite points, got {points!r}")

    def evaluation(k):  # (n, k): the polynomial of k coefficients at every point, infinity last
        return [[p ** j for j in range(k)] for p in pts] + [[Fraction(int(j == k - 1)) for j in range(k)]]

    scale = [math.prod((p - q for q in pts if q != p), start=Fraction(1)) for p in pts] + [Fraction(1)]
    e_n_inverse = _inverse(evaluation(n))
    at = [list(col) for col in zip(*evaluation(m))]
    g = [[v / s for v in row] for row, s in zip(evaluation(r), scale)]
    bt = [[e_n_inverse[k][i] * scale[i] for k in range(n)] for i in range(n)]  # diag(scale) E_n^-T
    return at, g, bt


def _floats(mat):
    out = numpy.array([[float(v) for v in row] for row in mat])
    out.flags.writeable = False  # shared by every caller through the caches below
    return out


def flip_permutation(g):
    """(perm, scale) with G J = diag(scale) G[perm]: the flipped kernel, transformed, is the
    transformed kernel with its positions permuted and scaled.

    g: G of F(m, r) as rows of Fractions; J reverses the r taps. Flipping the taps turns the
    kernel polynomial k(x) into x^(r-1) k(1/x), so its value at p is p^(r-1) times k's value at
    1/p (and 0 and infinity swap): perm pairs p with 1/p. It exists when the points are closed
    under p -> 1/p, which every POINTS entry is, so that the input gradient can use U itself.
    """
    perm, scale = [], []
    for row in g:
        flipped = row[::-1]
        for k, other in enumerate(g):
            j = next(j for j, v in enumerate(other) if v != 0)
            c = flipped[j] / other[j]
            if c != 0 and all(a == c * b for a, b in zip(flipped, other)):
                perm.append(k)
                scale.append(c)
                break
        else:
            raise ValueError("the points are not closed under p -> 1/p (with 0 <-> infinity)")
    return perm, scale


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


def _points(m, r):
    if (m, r) not in POINTS:
        raise ValueError(f"no Winograd points for F({m}, {r}); known: {sorted(POINTS)}")
    return POINTS[(m, r)]


@functools.lru_cache(maxsize=None)
def matrices(m, r):
    """(AT, G, BT) of F(m, r) with the points of POINTS; F(1, 1) (no tiling) is the identity."""
    if (m, r) == (1, 1):
        return _floats([[1]]), _floats([[1]]), _floats([[1]])
    return toom_cook(m, r, _points(m, r))


@functools.lru_cache(maxsize=None)
def backward_matrices(m, r):
    """(AT~, BT~) with which the forward's own U computes the input gradient (no second U).

    The gradient is a correlation of dy with the flipped kernel, channels swapped; its
    transformed weights would be U_back[i, j] = s_i s_j U[p_i, p_j]^T (flip_permutation). So
    the GEMM at position (i', j') can take U[i', j']^T if the input transform's rows are taken
    in the order p and scaled by s (BT~[i'] = s_p(i') BT[p(i')]) and the output transform's
    columns in the same order (AT~[:, i'] = AT[:, p(i')]).
    """
    if (m, r) == (1, 1):
        return _floats([[1]]), _floats([[1]])
    at, g, bt = exact_toom_cook(m, r, _points(m, r))
    perm, scale = flip_permutation(g)
    at_b = [[row[k] for k in perm] for row in at]
    bt_b = [[scale[k] * v for v in bt[k]] for k in perm]
    return _floats(at_b), _floats(bt_b)
