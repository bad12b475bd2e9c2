"""Reading Caffe models (.caffemodel, deploy .prototxt) for tools/convert_caffe.py."""


class CaffeError(Exception):
    """A Caffe file numdream cannot convert; the message names the file, layer and problem."""
