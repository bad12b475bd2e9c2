"""``numdream gradcheck``: every op over the registry's grid, against finite differences and autograd.

Prints one row per configuration: op, configuration, relative error of the backward pass against
float64 central differences, relative error against PyTorch autograd (forward and backward,
or "torch not installed"), and pass/fail. Exit status 0 only if every row passes.
The relative error is max|a - b| / max(max|a|, max|b|) (rel_l2_error for float32); see
numdream.gradcheck; the grid is numdream.opcases.
"""
from .. import opcases
from ..gradcheck import FD_TOL, TORCH_TOL, torch_available
from . import args as types

HEADER = ("op", "configuration", "finite diff.", "autograd", "result")


def add_parser(subparsers):
    p = subparsers.add_parser(
        "gradcheck", help="check every op's gradients against finite differences and PyTorch",
        description=__doc__.split("\n\n")[1])
    p.add_argument("--op", metavar="NAME", help=f"only this op: one of {', '.join(opcases.NAMES)}")
    p.add_argument("--seed", type=types.option_whole("seed"), default=0,
                   help="seed of the random inputs and directions")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                   help="dtype of the PyTorch comparison (finite differences are always float64)")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    p.set_defaults(run=run)


def _row(case, seed, dtype, torch_state):
    """(op, configuration, fd error, autograd error, 'pass'|'FAIL') for one registry case."""
    fd = opcases.check_case(case, seed=seed)
    ok, autograd = fd.passed(), torch_state
    if torch_state == "ok":
        result = opcases.compare_case_with_torch(case, dtype, seed=seed)
        ok = ok and result.passed(dtype)
        autograd = f"{result.error if dtype == 'float64' else result.error_l2:.1e}"
    return case.op, case.config, f"{fd.error:.1e}", autograd, "pass" if ok else "FAIL"


def run(args):
    selected = opcases.cases(args.op)  # an unknown op is a NumdreamError: one line, exit 2
    if args.no_torch:
        torch_state = "skipped"
    else:
        torch_state = "ok" if torch_available() else "torch not installed"
    rows = [_row(case, args.seed, args.dtype, torch_state) for case in selected]
    widths = [max(len(r[i]) for r in rows + [HEADER]) for i in range(len(HEADER))]
    for row in [HEADER] + rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    failed = sum(row[-1] == "FAIL" for row in rows)
    tolerance = f"finite differences {FD_TOL:g}"
    if torch_state == "ok":
        tolerance += f", autograd {args.dtype} {TORCH_TOL[args.dtype]:g}"
    print(f"\n{len(rows) - failed}/{len(rows)} passed (tolerances: {tolerance})")
    if torch_state == "torch not installed":
        print("torch not installed: pip install torch to compare against PyTorch autograd")
    return 1 if failed else 0
