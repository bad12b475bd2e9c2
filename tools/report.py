"""Shared by the converters: the digest they record in provenance, and the line they print once
they have written a model file."""
import hashlib
import os

from bounds import open_regular


def sha256_file(path):
    """Hex sha256 of a file's bytes, read in 1 MB blocks (a regular file only: never a FIFO)."""
    digest = hashlib.sha256()
    with open_regular(path, OSError, "file") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def written(out, spec):
    """'wrote OUT: 115 nodes (input_1 .. mixed5), 5127136 parameters, 6.8 MB'."""
    count = sum(p.size for n in spec.nodes for p in n.params.values())
    return (f"wrote {out}: {len(spec.nodes)} nodes ({spec.nodes[0].name} .. {spec.nodes[-1].name}), "
            f"{count} parameters, {os.path.getsize(out) / 1e6:.1f} MB")
