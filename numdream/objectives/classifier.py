"""The score of one class of a classifier head, and the image sizes such a head accepts."""
from ..backend import get_array_module
from ..errors import LayerError, NumdreamError
from .base import Objective


class Class(Objective):
    """The score of one class before the softmax (its logit): class visualisation, the image the
    network finds most like class N (Simonyan et al. 2014, as in the lectures).

    The layer must be a classifier, a dense node such as 'loss3/classifier' (Caffe GoogLeNet) or
    'softmax2_pre_activation' (TensorFlow inception5h). A classifier reads a fixed number of
    values, so it accepts few image sizes (GoogLeNet's: squares of 223 to 254 pixels, made for
    224x224), unless a global pool comes before it. So the image is dreamt whole (no tiles, no
    jitter), at its own size, which must fit the head; octaves too small for it are skipped.
    prepare() names the sizes that fit when the image does not.
    """
    name = "class"
    whole_image = "its classifier reads every position of the image at once"
    jitters = False

    def __init__(self, layers, class_index):
        super().__init__(layers)
        self.class_index = int(class_index)

    def prepare(self, model, image_hw):
        super().prepare(model, image_hw)
        for name in self.layers:
            info = model.layer(name)
            if info.op != "dense":
                heads = [n for n in model.layer_names if model.layers[n].op == "dense"]
                raise LayerError(f"the class objective needs a classifier layer (a dense node), but "
                                 f"{name!r} is a {info.op}; " + (f"the classifiers of {model.name} are "
                                 f"{', '.join(heads)}" if heads else f"{model.name} has none"))
            if not 0 <= self.class_index < info.channels:
                raise LayerError(f"class {self.class_index} does not exist in layer {name!r}, which "
                                 f"scores classes 0 to {info.channels - 1}")
            try:
                model.output_shapes(image_hw, [name])
            except NumdreamError as err:
                low, high = fitting_sides(model, name)
                side = next((s for s in range(low, high + 1) if s % 8 == 0), low)
                raise NumdreamError(f"{err}. The class objective dreams the whole image, so its size "
                                    f"must fit the classifier: squares from {low}x{low} to "
                                    f"{high}x{high} do; resize the photo, or start from noise "
                                    f"(--init noise --size {side}x{side})") from None

    def layer_value(self, name, act):
        xp = get_array_module(act)
        grad = xp.zeros_like(act)
        grad[:, self.class_index] = 1.0
        return act[:, self.class_index].sum(), grad


def fitting_sides(model, name, limit=4096):
    """(smallest, largest) side of the square images that layer ``name`` can be computed for:
    a contiguous range when a classifier head reads a fixed number of values."""
    low = model.min_input_size([name])
    high = low
    while high < limit:
        try:
            model.output_shapes((high + 1, high + 1), [name])
        except NumdreamError:
            break
        high += 1
    return low, high
