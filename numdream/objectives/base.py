"""The base of every objective: weighted target layers, and the sum of per-layer values."""
from ..errors import NumdreamError
from ..options import layer_weight


def layer_weights(layers):
    """'mixed3' | ['mixed3', 'mixed5'] | {'mixed3': 1.0, 'mixed5': 1.5} -> {name: weight}."""
    if isinstance(layers, str):
        return {layers: 1.0}
    if isinstance(layers, dict):
        return {str(k): layer_weight(v, k) for k, v in layers.items()}
    return {str(name): 1.0 for name in layers}


class Objective:
    """Base class: holds the weighted target layers; subclasses define the per-layer value."""
    whole_image = False  # or the reason, in one line, why this objective cannot be tiled
    jitters = True
    # Whether a step's tiles may run side by side on numdream's threads (numdream/fast/tiles.py),
    # each calling the objective on its own tile's activations. True for every objective here:
    # their calls only read what prepare() set. A subclass whose __call__ changes its own state
    # sets it False, and its tiles run one after another.
    concurrent_tiles = True

    def window(self, model, image_hw):
        """((y0, y1, x0, x1), objective) for a crop that gives the whole gradient, or None."""
        return None

    def __init__(self, layers):
        self.layers = layer_weights(layers)
        if not self.layers:
            raise NumdreamError("an objective needs at least one target layer")

    def prepare(self, model, image_hw):
        for name in self.layers:
            model.layer(name)

    def layer_value(self, name, act):
        """(value, gradient) of one layer's activation (N, C, h, w). Subclasses define it."""
        raise NotImplementedError

    def __call__(self, acts):
        total, grads = 0.0, {}
        for name, weight in self.layers.items():
            value, grad = self.layer_value(name, acts[name])
            total += weight * float(value)
            grads[name] = grad * weight if weight != 1.0 else grad
        return total, grads
