"""A PyTorch twin of any numdream ModelSpec, built from the same arrays: the autograd oracle
for whole networks. Only torch.nn.functional is used, with F.pad for asymmetric padding."""
import numpy as np
import torch
import torch.nn.functional as F

from numdream.nodes import resolve_padding
from numdream.ops.geometry import pair


def _pool_pad(x, padding, value):
    t, b, l, r = padding
    return F.pad(x, (l, r, t, b), value=value) if any(padding) else x


def _node(node, xs, params):
    a = node.attrs
    x = xs[0]
    if node.op == "relu":
        return F.relu(x)
    if node.op == "concat":
        return torch.cat(xs, dim=a.get("axis", 1))
    if node.op == "lrn":
        return F.local_response_norm(x, a["size"], a["alpha"], a["beta"], a["k"])
    if node.op == "dense":
        w, b = params[node.name]
        return F.linear(x.flatten(1), w, b)[:, :, None, None]
    if node.op == "softmax":
        return F.softmax(x, dim=1)
    if a.get("global"):
        pool = F.max_pool2d if node.op == "max_pool2d" else F.avg_pool2d
        return pool(x, tuple(x.shape[2:]))
    stride = pair(a.get("stride", 1))
    if node.op == "conv2d":
        w, b = params[node.name]
        t, bo, l, r = resolve_padding(a["padding"], x.shape[2:], tuple(w.shape[2:]), stride)
        return F.conv2d(F.pad(x, (l, r, t, bo)), w, b, stride=stride, groups=a.get("groups", 1))
    kernel = pair(a["size"])
    padding = resolve_padding(a.get("padding", "valid"), x.shape[2:], kernel, stride)
    ceil = a.get("ceil_mode", False)
    if node.op == "max_pool2d":
        t, b, l, r = padding
        if ceil and t == b and l == r:  # F.pad would let ceil mode's last window start in the padding
            return F.max_pool2d(x, kernel, stride, (t, l), ceil_mode=True)
        return F.max_pool2d(_pool_pad(x, padding, -float("inf")), kernel, stride, ceil_mode=ceil)
    if node.op == "avg_pool2d":
        t, b, l, r = padding
        if t == b and l == r:  # symmetric: torch handles the count itself
            return F.avg_pool2d(x, kernel, stride, (t, l), ceil_mode=ceil,
                                count_include_pad=a.get("count_include_pad", False))
        # asymmetric padding: sum over zero padding, divide by the count of real (or padded) pixels
        ones = torch.ones_like(x[:1, :1])
        if a.get("count_include_pad", False):
            ones = _pool_pad(ones, padding, 1.0)
        else:
            ones = _pool_pad(ones, padding, 0.0)
        total = F.avg_pool2d(_pool_pad(x, padding, 0.0), kernel, stride, ceil_mode=ceil) 
        count = F.avg_pool2d(ones, kernel, stride, ceil_mode=ceil)
        return total / count
    raise ValueError(node.op)


class TorchTwin:
    """forward(x, until) -> {name: tensor} with autograd, from the same spec and dtype."""

    def __init__(self, spec, dtype=torch.float64):
        self.spec = spec
        self.params = {n.name: (torch.tensor(np.asarray(n.params["w"]), dtype=dtype),
                                torch.tensor(np.asarray(n.params["b"]), dtype=dtype))
                       for n in spec.nodes if n.op in ("conv2d", "dense")}

    def forward(self, x, until):
        acts = {}
        for node in self.spec.nodes:
            acts[node.name] = x if node.op == "input" else _node(
                node, [acts[s] for s in node.inputs], self.params)
            if all(u in acts for u in until):
                break
        return {u: acts[u] for u in until}
