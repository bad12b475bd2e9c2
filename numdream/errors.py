"""Errors a user can cause and fix: the CLI prints them as one line, without a traceback."""


class NumdreamError(Exception):
    """Base of every user-facing error; its message names the bad value and what is valid."""


class BackendError(NumdreamError):
    """The requested array backend (for example CuPy) is not available."""


class ModelFileError(NumdreamError):
    """A model HDF5 file is missing, truncated, corrupt or inconsistent."""


class ImageError(NumdreamError):
    """An image cannot be read or written."""


class LayerError(NumdreamError):
    """An unknown layer, channel or position was asked for."""
