"""The HDF5 side of reading a model file safely: the file holds its own data, and no declared
size is allocated before it has been checked.

HDF5 can keep a dataset's bytes in another file (external raw storage), assemble a dataset
from other files (virtual datasets) and link to other files or paths (external and soft links).
A model file may do none of these (``check_self_contained``, run before anything else is read):
each would let a file make numdream read /etc/passwd as weights or block on a FIFO. The checks
use only links and dataset creation properties, so no byte of such a dataset is ever read.

Sizes: a param dataset is first turned into a zero-memory stand-in of its declared shape
(``declared_stand_in``) once its dtype, filters, chunks and stored bytes are plausible, so that
numdream.modelcheck.check_graph can check every shape against the graph and the budget before
``read_param`` reads a single weight. Attributes are read only below MAX_ATTR_BYTES (``read_attr``).
"""
import math

import h5py
import numpy as np

from .errors import ModelFileError
from .modelvalues import MAX_PARAM_VALUES, short_repr

MAX_LINKS = 200_000             # links walked (a 10,000-node model has 30,000; 200,000 take ~6 s)
MAX_ATTR_BYTES = 16 << 20       # one attribute (root, preprocess or provenance)
MAX_DEFLATE_RATIO = 1100        # deflate never beats 1032:1, so stored * 1100 >= declared bytes
ALLOWED_FILTERS = {h5py.h5z.FILTER_DEFLATE: "gzip", h5py.h5z.FILTER_SHUFFLE: "shuffle",
                   h5py.h5z.FILTER_FLETCHER32: "fletcher32"}
_LINK_KINDS = {h5py.h5l.TYPE_SOFT: "a soft link", h5py.h5l.TYPE_EXTERNAL: "an external link"}


def check_self_contained(f, path):
    """Refuse soft and external links, virtual datasets and external raw storage anywhere in
    the file: each would make numdream read another file (/etc/passwd as weights, a FIFO that
    blocks forever). Looks only at links and dataset creation properties, never at data."""
    problems, count = [], [0]

    def visit(name, info):
        count[0] += 1
        if count[0] > MAX_LINKS:
            problems.append(f"holds more than {MAX_LINKS} links; a model file holds a few per node")
        elif info.type != h5py.h5l.TYPE_HARD:
            kind = _LINK_KINDS.get(info.type, f"a user-defined link (type {info.type})")
            problems.append(f"{short_repr(name.decode('utf-8', 'replace'))} is {kind}; a model file must "
                            "hold its data itself (hard links only)")
        elif h5py.h5o.get_info(f.id, name).type == h5py.h5o.TYPE_DATASET:
            problem = _storage_outside(h5py.h5d.open(f.id, name).get_create_plist())
            if problem:
                problems.append(f"dataset {short_repr(name.decode('utf-8', 'replace'))} {problem}")
        return True if problems else None  # anything but None stops the walk

    f.id.links.visit(visit, info=True)
    if problems:
        raise ModelFileError(f"{path}: {problems[0]}")


def _storage_outside(dcpl):
    """Why a dataset's bytes are not inside the file, or None if they are."""
    if dcpl.get_layout() == h5py.h5d.VIRTUAL:
        return "is a virtual dataset (its data lives in other files); a model file must hold its data itself"
    if dcpl.get_external_count():
        name = dcpl.get_external(0)[0].decode("utf-8", "replace")
        return (f"stores its data in the external file {short_repr(name)}; a model file must hold its "
                "data itself")
    return None


def declared_stand_in(ds, where):
    """A zero-memory stand-in of the dataset's shape, once its dtype, size and storage pass:
    float, at most MAX_PARAM_VALUES values, only allowed filters, chunks no larger than the
    dataset, every chunk present, and enough stored bytes for what it declares (so a small
    file cannot declare gigabytes that would be allocated on reading)."""
    if ds.dtype.kind != "f":
        raise ModelFileError(f"{where}: dtype {ds.dtype}, expected float32")
    if ds.shape is None:
        raise ModelFileError(f"{where}: an empty dataset (no dataspace), expected an array")
    size = math.prod(ds.shape)
    if size > MAX_PARAM_VALUES:
        raise ModelFileError(f"{where}: declares shape {ds.shape}, {size} values; numdream reads at "
                             f"most {MAX_PARAM_VALUES} parameters (1 GiB of float32)")
    dcpl = ds.id.get_create_plist()
    for i in range(dcpl.get_nfilters()):
        code, _, _, filter_name = dcpl.get_filter(i)
        if code not in ALLOWED_FILTERS:
            raise ModelFileError(f"{where}: uses the HDF5 filter {filter_name.decode('utf-8', 'replace')!r} "
                                 f"({code}); model files use {', '.join(ALLOWED_FILTERS.values())} only")
        if not h5py.h5z.filter_avail(code):
            raise ModelFileError(f"{where}: uses the HDF5 filter {ALLOWED_FILTERS[code]!r}, which this "
                                 "HDF5 library cannot decode")
    declared = size * ds.dtype.itemsize
    if dcpl.get_layout() == h5py.h5d.CHUNKED and size:
        chunk = dcpl.get_chunk()
        if any(c > d for c, d in zip(chunk, ds.shape)):
            raise ModelFileError(f"{where}: chunks {chunk} are larger than the dataset {ds.shape}")
        expected = math.prod(-(-d // c) for d, c in zip(ds.shape, chunk))
        if ds.id.get_num_chunks() != expected:
            raise ModelFileError(f"{where}: stores {ds.id.get_num_chunks()} of its {expected} "
                                 "chunks; the weights are missing or the file is damaged")
    stored = ds.id.get_storage_size()
    if stored * MAX_DEFLATE_RATIO < declared:
        raise ModelFileError(f"{where}: declares shape {ds.shape} ({declared} bytes) but stores only "
                             f"{stored} bytes; the weights are missing or the file is damaged")
    return np.broadcast_to(np.zeros((), np.float32), ds.shape)


def read_param(ds, where):
    """The dataset as float32, converted by HDF5 while reading (no wider temporary)."""
    try:
        return np.asarray(ds.astype(np.float32)[()], dtype=np.float32)
    except Exception as err:  # a corrupt chunk fails only when it is decompressed
        raise ModelFileError(f"{where}: cannot read dataset {short_repr(ds.name)} "
                             f"({type(err).__name__}: {' '.join(str(err).split())[:200]})") from None


def read_attr(obj, name, path, default=None):
    """obj.attrs[name], or default if absent, after checking its size (MAX_ATTR_BYTES)."""
    if name not in obj.attrs:
        return default
    attr = h5py.h5a.open(obj.id, name.encode("utf-8"))
    size = math.prod(attr.shape or ()) * attr.dtype.itemsize
    if size > MAX_ATTR_BYTES:
        raise ModelFileError(f"{path}: attribute {short_repr(name)} of {short_repr(obj.name)} declares "
                             f"{size} bytes; at most {MAX_ATTR_BYTES}")
    return obj.attrs[name]
