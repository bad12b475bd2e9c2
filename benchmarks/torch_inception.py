"""The bundled InceptionV3 trunk in PyTorch, written at its best for a fair speed comparison:
BatchNorm already folded into the convolutions (it is, in the file), symmetric padding handed to
conv2d and avg_pool2d wherever TensorFlow's 'same' padding is symmetric, in-place ReLU, and no
weight gradients."""
import torch
import torch.nn.functional as F

from numdream.nodes import resolve_padding
from numdream.ops.geometry import pair


class TorchInception:
    def __init__(self, spec, dtype=torch.float32):
        """spec: the model file's graph (numdream.modelfile.read_model); dtype: of the weights, so of
        the input it takes (float64 for the checks against numdream in float64)."""
        self.nodes = spec.nodes
        self.dtype = dtype
        self.params = {n.name: (torch.from_numpy(n.params["w"]).to(dtype), torch.from_numpy(n.params["b"]).to(dtype))
                       for n in spec.nodes if n.op == "conv2d"}

    def _conv(self, node, x):
        w, b = self.params[node.name]
        stride = pair(node.attrs["stride"])
        t, bo, l, r = resolve_padding(node.attrs["padding"], x.shape[2:], tuple(w.shape[2:]), stride)
        if t == bo and l == r:
            return F.conv2d(x, w, b, stride=stride, padding=(t, l))
        return F.conv2d(F.pad(x, (l, r, t, bo)), w, b, stride=stride)

    def run(self, x, wanted):
        """{node name: activation} of every node up to the last of ``wanted`` (names) for input x
        (N, 3, H, W). A ReLU runs in place unless its input is wanted (a pre-ReLU layer)."""
        acts, left = {}, set(wanted)
        for node in self.nodes:
            a = node.attrs
            if node.op == "input":
                y = x
            elif node.op == "conv2d":
                y = self._conv(node, acts[node.inputs[0]])
            elif node.op == "relu":
                y = F.relu(acts[node.inputs[0]], inplace=node.inputs[0] not in wanted)
            elif node.op == "concat":
                y = torch.cat([acts[s] for s in node.inputs], dim=1)
            else:
                src = acts[node.inputs[0]]
                kernel, stride = pair(a["size"]), pair(a["stride"])
                t, b, l, r = resolve_padding(a["padding"], src.shape[2:], kernel, stride)
                assert t == b and l == r, "the InceptionV3 pools have symmetric padding"
                if node.op == "max_pool2d":
                    y = F.max_pool2d(src, kernel, stride, (t, l))
                else:
                    y = F.avg_pool2d(src, kernel, stride, (t, l), count_include_pad=False)
            acts[node.name] = y
            left.discard(node.name)
            if not left:
                break
        return acts

    def forward(self, x, until):
        """{name: activation} of the nodes named in ``until``."""
        acts = self.run(x, until)
        return {name: acts[name] for name in until}

    def step(self, x, until):
        """One DeepDream step's work: forward to ``until``, L2 gradient, back to the input."""
        x = x.detach().requires_grad_(True)
        acts = self.forward(x, until)
        loss = sum(0.5 * (a * a).sum() for a in acts.values())
        loss.backward()
        return x.grad
