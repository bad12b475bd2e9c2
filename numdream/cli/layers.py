"""``numdream layers [--model PATH]``: list a model's layers with channel counts and strides.

The pre_relu column says which layers can be read before their last ReLU as NAME:pre_relu (the
target of `numdream visualize --pre-relu`).
"""
from ..errors import NumdreamError
from ..model import load_model


def add_parser(sub):
    p = sub.add_parser("layers", help="list the layers a dream can target",
                       description="List a model's layers with their channel counts and spatial strides.")
    p.add_argument("--model", metavar="PATH", help="model HDF5 file (default: bundled InceptionV3)")
    p.add_argument("--op", help="only layers of this op (e.g. concat, relu, conv2d)")
    p.set_defaults(run=run)


def run(a):
    model = load_model(a.model)
    rows = [model.layers[name] for name in model.layer_names]
    if a.op:
        ops = sorted({r.op for r in rows})
        if a.op not in ops:
            raise NumdreamError(f"no layer has op {a.op!r}; ops in this model: {', '.join(ops)}")
        rows = [r for r in rows if r.op == a.op]
    width = max(len(r.name) for r in rows)
    print(f"{'layer':<{width}}  {'op':<10}  {'channels':>8}  {'stride':>6}  pre_relu")
    for r in rows:
        mark = "  (default target)" if r.name in model.spec.dream_layers else ""
        pre = "yes" if model.has_pre_relu(r.name) else "-"
        print(f"{r.name:<{width}}  {r.op:<10}  {r.channels:>8}  {r.stride:>6}  {pre:<8}{mark}".rstrip())
    print(f"\n{len(model.layer_names)} layers; smallest input {model.min_input_size()}x"
          f"{model.min_input_size()} pixels; model {model.name} from {model.spec.path}")
    return 0
