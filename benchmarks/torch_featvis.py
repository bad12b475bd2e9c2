"""numdream's feature-visualisation loop written in PyTorch, for a fair speed comparison: the same
algorithm on the same weights and threads, with autograd and torch.optim.Adam where numdream writes
each gradient out.

    params (a half spectrum) -> irfft2 of the 1/f-scaled spectrum -> decorrelated colour -> sigmoid
    -> pad / jitter / scale (F.interpolate) / rotate (F.grid_sample) / jitter -> the network's input
    -> the InceptionV3 trunk (TorchInception's weights and convolutions) to the target layer
    -> minus the channel's mean -> backward -> Adam

The random draws (the start and each step's transformations) come from numdream's own functions
with the same seed, so both engines run the same steps on the same images; only the arithmetic
differs (tests/test_featvis_render.py checks one step of numdream against autograd to 1e-10).
"""
import numpy as np
import torch

from numdream.featvis.cases import torch_transform
from numdream.featvis.color import COLOR_MIX
from numdream.featvis.fourier import spectrum_scale
from numdream.featvis.param import init_params
from numdream.featvis.pipeline import STANDARD_TRANSFORMS, draw
from numdream.nodes import PRE_RELU
from torch_inception import TorchInception


class TorchTrunk(TorchInception):
    """TorchInception that also reads a layer before its last ReLUs ('mixed4:pre_relu'): ReLUs whose
    input is wanted run out of place, every other one in place, as TorchInception runs them."""

    def __init__(self, spec, model):
        super().__init__(spec)
        self.model = model  # the numdream Model: which nodes a ':pre_relu' layer concatenates

    def layer(self, x, name):
        """The activation of ``name`` (a node, or 'NODE:pre_relu') for input x (N, 3, H, W)."""
        sources = self.model.nodes[name].inputs if name.endswith(PRE_RELU) else [name]
        acts = self.run(x, set(sources))
        return torch.cat([acts[s] for s in sources], dim=1) if name.endswith(PRE_RELU) else acts[name]


def _image(params, hw, scale, mix):
    """params (N, 3, H, W//2+1, 2) -> sigmoid(decorrelate(irfft2(scale * spectrum))) (N, 3, H, W)."""
    spectrum = torch.view_as_complex(params) * scale
    x = torch.fft.irfftn(spectrum, s=hw, dim=(-2, -1), norm="ortho")
    return torch.sigmoid(torch.einsum("ij,njhw->nihw", mix, x))


class TorchVisualisation:
    """channel(layer, index) visualised as numdream.visualize does (fft, decorrelated, standard
    transforms, Adam 0.05), one step at a time: step() runs one, image() returns (N, 3, H, W)."""

    def __init__(self, trunk, model, layer, index, hw=(224, 224), seed=0, lr=0.05, transforms=STANDARD_TRANSFORMS):
        self.trunk, self.layer, self.index, self.hw, self.transforms = trunk, layer, index, hw, transforms
        self.rng = np.random.default_rng(seed)
        start = init_params(hw, 1, "fft", rng=self.rng, dtype=np.float32)
        self.params = torch.from_numpy(start).requires_grad_(True)
        self.scale = torch.from_numpy(spectrum_scale(hw).astype(np.float32))
        self.mix = torch.from_numpy(COLOR_MIX.astype(np.float32))
        self.mean = torch.from_numpy((model.mean * model.scale).astype(np.float32)).reshape(1, 3, 1, 1)
        self.gain, self.bgr = 255.0 * model.scale, model.channel_order == "BGR"
        self.optimizer = torch.optim.Adam([self.params], lr=lr)

    def step(self):
        x = _image(self.params, self.hw, self.scale, self.mix)
        for transform in self.transforms:
            x = torch_transform(transform, draw(transform, x.shape[2:], self.rng), x)
        x = (x.flip(1) if self.bgr else x) * self.gain - self.mean
        loss = -self.trunk.layer(x, self.layer)[:, self.index].mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return -loss.item()

    def image(self):
        with torch.no_grad():
            return _image(self.params, self.hw, self.scale, self.mix).numpy()
