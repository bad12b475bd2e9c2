"""numdream: DeepDream written from scratch in NumPy, with an optional CuPy backend."""
from .backend import to_host, use
from .errors import NumdreamError

__version__ = "0.1.0"
__all__ = ["use", "to_host", "NumdreamError", "__version__"]
