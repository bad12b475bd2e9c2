"""numdream: DeepDream written from scratch in NumPy, with an optional CuPy backend.

    import numdream
    out = numdream.dream("photo.jpg", layers={"mixed3": 1.0, "mixed5": 1.5}, seed=0)
    model = numdream.load_model()          # the bundled InceptionV3 trunk
    images = numdream.visualize(numdream.featvis.channel("mixed4:pre_relu", 97))  # feature visualisation
"""
from .backend import to_host, use
from .dream import dream, evaluate
from .errors import NumdreamError
from .featvis import visualize
from .images import load_image, save_image
from .model import Model, load_model

__version__ = "0.1.0"
__all__ = ["dream", "evaluate", "visualize", "load_model", "Model", "load_image", "save_image", "use", "to_host",
           "NumdreamError", "__version__"]
