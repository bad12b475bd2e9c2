"""Build the tutorial notebooks from their readable sources, execute them, save them with outputs.

    python tutorials/make_notebooks.py              # every notebook
    python tutorials/make_notebooks.py 03 04        # those whose name starts with 03 or 04
    python tutorials/make_notebooks.py --no-execute # rebuild the cells only, without outputs

The source of tutorials/NAME.ipynb is tutorials/source/NAME.py, in the "percent" format that
Jupytext, VS Code and Spyder read: a line ``# %%`` starts a code cell, ``# %% [markdown]`` a
markdown cell whose lines are comments (``# `` is stripped). Edit the source, then run this.

Notebooks run in a kernel of this very interpreter (``kernel_manager``), with tutorials/ as the
working directory, exactly as tests/test_tutorials.py runs them. Before saving, large PNG outputs
are reduced to 256 colours with Floyd-Steinberg dithering (``shrink_images``), which makes them
about three times smaller, so the notebooks read well on a code host without weighing megabytes.
"""
import argparse
import base64
import io
import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "source"
CELL_TIMEOUT = 600  # seconds per cell; a whole notebook should take well under three minutes
SHRINK_ABOVE = 40_000  # bytes: PNGs larger than this (photos, not plots) get a 256-colour palette
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
# Every notebook starts a clock in its first cell and prints in its last how long it ran, the same
# way in each (added here, not in the sources), so a reader sees what a run costs on their machine.
CLOCK_START = ("import os, time  # this notebook's last cell prints how long it ran\n"
               "notebook_started = time.perf_counter()")
CLOCK_END = ('print(f"This notebook ran in {time.perf_counter() - notebook_started:.0f} s "\n'
             '      f"on {os.cpu_count()} cores.")')


def source_paths():
    """The notebook sources, in order: tutorials/source/NN_name.py."""
    return sorted(SOURCES.glob("[0-9][0-9]_*.py"))


def notebook_path(source):
    """tutorials/source/NAME.py -> tutorials/NAME.ipynb."""
    return HERE / (Path(source).stem + ".ipynb")


def _split_cells(text):
    """Percent-format text -> [(kind, lines)] with kind 'code' or 'markdown'."""
    cells, kind, lines = [], None, []
    for line in text.splitlines():
        if line.startswith("# %%"):
            if kind is not None:
                cells.append((kind, lines))
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind is not None:
            lines.append(line)
    if kind is not None:
        cells.append((kind, lines))
    return cells


def _uncomment(line):
    if line.startswith("# "):
        return line[2:]
    return "" if line.strip() == "#" else line


def build(source):
    """tutorials/source/NAME.py -> an unexecuted nbformat v4 notebook, between the cells that start
    and read its clock (CLOCK_START, CLOCK_END)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells.append(nbformat.v4.new_code_cell(CLOCK_START))
    for kind, lines in _split_cells(Path(source).read_text(encoding="utf-8")):
        if kind == "markdown":
            lines = [_uncomment(line) for line in lines]
        text = "\n".join(lines).strip("\n")
        if not text:
            continue
        new = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        nb.cells.append(new(text))
    nb.cells.append(nbformat.v4.new_code_cell(CLOCK_END))
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"  # stable ids keep regenerated notebooks diff-friendly
    return nb


def kernel_manager():
    """A KernelManager whose python3 kernel is this interpreter (sys.executable).

    An installed kernelspec says "python", which is whatever python comes first on PATH; in an
    unactivated venv that is not the one with numdream installed. ipykernel's own kernel dict
    names sys.executable.
    """
    from ipykernel.kernelspec import get_kernel_dict
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import KernelManager

    class ThisInterpreter(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return KernelSpec(resource_dir=str(HERE), **get_kernel_dict())

    return KernelManager(kernel_name="python3", kernel_spec_manager=ThisInterpreter())


def clear_outputs(nb):
    """Remove every output and execution count, in place; returns nb."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
    return nb


def execute(nb, timeout=CELL_TIMEOUT):
    """Run nb top to bottom in a fresh kernel, in place, with tutorials/ as working directory.

    Raises nbclient.exceptions.CellExecutionError at the first cell that fails.
    Returns (wall time in seconds, [seconds of each code cell]).
    """
    from nbclient import NotebookClient
    start = time.perf_counter()
    client = NotebookClient(nb, km=kernel_manager(), timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(HERE)}}, record_timing=True)
    client.execute(cleanup_kc=True)  # stop the kernel: nbclient leaves a given manager's running
    return time.perf_counter() - start, [_cell_seconds(c) for c in nb.cells if c.cell_type == "code"]


def _cell_seconds(cell):
    """How long a code cell ran, from nbclient's timing record (removed from the cell)."""
    record = cell.metadata.pop("execution", {})
    times = [record.get(k) for k in ("iopub.execute_input", "shell.execute_reply")]
    if None in times:
        return float("nan")
    begin, end = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in times)
    return (end - begin).total_seconds()


def shrink_images(nb, above=SHRINK_ABOVE):
    """Re-encode every PNG output larger than ``above`` bytes with a dithered 256-colour palette."""
    from PIL import Image
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if len(data.get("image/png", "")) * 3 // 4 <= above:
                continue
            image = Image.open(io.BytesIO(base64.b64decode(data["image/png"]))).convert("RGB")
            palette = image.quantize(256, method=Image.Quantize.FASTOCTREE)
            small = image.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG)
            buffer = io.BytesIO()
            small.save(buffer, format="PNG", optimize=True)
            data["image/png"] = base64.b64encode(buffer.getvalue()).decode("ascii")
    return nb


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("prefixes", nargs="*", help="only the notebooks whose name starts so")
    parser.add_argument("--no-execute", action="store_true", help="write the cells without outputs")
    args = parser.parse_args(argv)
    prefixes = tuple(args.prefixes)
    chosen = [s for s in source_paths() if not prefixes or s.stem.startswith(prefixes)]
    if not chosen:
        print(f"no notebook source matches {' '.join(args.prefixes)} in {SOURCES}", file=sys.stderr)
        return 2
    for source in chosen:
        nb = build(source)
        seconds, cells = 0.0, []
        if not args.no_execute:
            seconds, cells = execute(nb)
            shrink_images(nb)
        out = notebook_path(source)
        nbformat.write(nb, str(out))
        slowest = sorted(range(len(cells)), key=lambda i: -cells[i])[:3]
        detail = ", ".join(f"cell {i + 1}: {cells[i]:.1f} s" for i in slowest)
        print(f"{out.name}: {seconds:.1f} s, {out.stat().st_size / 1e6:.2f} MB"
              + (f" (slowest code cells: {detail})" if detail else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
