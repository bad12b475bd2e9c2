"""The feature-visualisation flags shared by ``numdream visualize`` and ``numdream atlas``.

    add_visualize_options(parser)       # --size --steps --param --no-decorrelate ... --seed --model
    kwargs = visualize_kwargs(args)     # keyword arguments for numdream.visualize (without objective)
    layer = target_layer(args, model)   # --layer, or its pre-ReLU version with --pre-relu
"""
from ..errors import LayerError
from ..featvis import PARAMS
from ..nodes import PRE_RELU
from . import args as types
from .dreamopts import add_run_options


def add_visualize_options(p, size_default=224, steps_default=512,
                          seed_help="random seed (default: a new one, printed)"):
    """Add the flags of the visualisation loop to argparse parser ``p``."""
    p.add_argument("--pre-relu", action="store_true",
                   help="target the layer before its last ReLU (LAYER:pre_relu), where no channel is dead")
    p.add_argument("--size", type=types.side_or_size, default=(size_default, size_default), metavar="SIDE|WxH",
                   help=f"image size (default: {size_default})")
    p.add_argument("--steps", type=types.option_whole("steps"), default=steps_default,
                   help=f"Adam steps (default: {steps_default})")
    p.add_argument("--param", choices=PARAMS, default="fft",
                   help="image parametrisation: a 1/f-scaled Fourier spectrum or raw pixels (default: fft)")
    p.add_argument("--no-decorrelate", dest="decorrelate", action="store_false",
                   help="optimise RGB directly instead of ImageNet's decorrelated colour space")
    p.add_argument("--no-transforms", dest="transforms", action="store_false",
                   help="no random pad, jitter, scale and rotation between the image and the network")
    p.add_argument("--lr", type=types.number(above=0.0), default=0.05, help="Adam's learning rate (default: 0.05)")
    p.add_argument("--seed", type=types.option_whole("seed"), help=seed_help)
    add_run_options(p)


def visualize_kwargs(a, seed):
    """Keyword arguments of numdream.visualize from parsed flags (size, steps, ...; not the objective)."""
    return dict(size=tuple(a.size), steps=a.steps, param=a.param, decorrelate=a.decorrelate,
                transforms=a.transforms, lr=a.lr, seed=seed)


def target_layer(a, model):
    """--layer as given, or with --pre-relu its ':pre_relu' version (which the layer must have)."""
    model.layer(a.layer)
    if not a.pre_relu or a.layer.endswith(PRE_RELU):
        return a.layer
    if not model.has_pre_relu(a.layer):
        having = [n for n in model.layer_names if model.has_pre_relu(n)]
        hint = f"; these do: {', '.join(having[-3:])} ... (`numdream layers` marks them)" if having else ""
        raise LayerError(f"layer {a.layer!r} has no pre-ReLU version (no ReLU ends it){hint}")
    return a.layer + PRE_RELU
