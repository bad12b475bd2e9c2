"""Shared by the converters: the line they print once they have written a model file. (The
digest they record in provenance is numdream.fileio.file_digest.)"""
import os


def written(out, spec):
    """'wrote OUT: 115 nodes (input_1 .. mixed5), 5127136 parameters, 6.8 MB'."""
    count = sum(p.size for n in spec.nodes for p in n.params.values())
    return (f"wrote {out}: {len(spec.nodes)} nodes ({spec.nodes[0].name} .. {spec.nodes[-1].name}), "
            f"{count} parameters, {os.path.getsize(out) / 1e6:.1f} MB")
