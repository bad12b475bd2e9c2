"""An atlas of a layer: one visualisation per channel, on a labelled contact sheet.

    tiles, labels = atlas_tiles("mixed4:pre_relu", range(64), "sheet_tiles/", steps=512)
    save_image("sheet.png", contact_sheet(tiles, labels))

Tiles are made one by one (or in parallel, one Dask task per channel, on the cluster of
``numdream batch``) and each is written to the work folder as soon as it is made, atomically, as
``frame_NNNNN.png`` (NNNNN: the channel's place in the list), with the settings that made them
recorded beside them, in a folder numdream made and holds while it works (numdream.frames). A run that is stopped and started again
with the same settings makes only the missing tiles; every tile has the same seed, so the sheet is
the one an uninterrupted run makes, bit for bit.
"""
import sys
from pathlib import Path

from tqdm import tqdm

from ..batch import connect, require_dask, worker_model
from ..errors import NumdreamError
from ..fileio import one_line
from ..images import load_image, save_image
from ..model import load_model
from ..frames import claim_frames_folder, frame_path, saved_frame
from .objectives import channel
from .render import stuck, visualize

def tile_label(layer, index):
    """'#97 mixed4': what the sheet prints under a tile."""
    return f"#{index} {layer}"


def _settings(layer, channels, model, options):
    described = {k: (list(v) if isinstance(v, tuple) else v) for k, v in sorted(options.items())}
    return dict(command="atlas", layer=layer, channels=list(channels),
                model=str(getattr(model.spec, "path", None) or model.name), **described)


def make_tile(folder, i, layer, index, model, options):
    """Visualise channel ``index`` of ``layer`` and write it as tile i of ``folder``, atomically.
    Returns (image, whether its objective stayed 0 at every step: render.stuck)."""
    values = []
    image = visualize(channel(layer, index), model=model, progress=False, batch=1, values=values, **options)[0]
    save_image(frame_path(folder, i), image)
    return image, stuck(values)


def tile_task(folder, i, layer, index, model_path, backend_name, options):
    """One Dask task: tile i, on a worker. Returns (None or the one-line message of a user error,
    whether the tile's objective stayed 0)."""
    try:
        _, zero = make_tile(Path(folder), i, layer, index, worker_model(model_path, backend_name), options)
    except NumdreamError as err:
        return str(err), False
    return None, zero


def atlas_tiles(layer, channels, folder, model=None, model_path=None, workers=None, scheduler=None,
                backend_name=None, progress=True, on_tile=None, stuck_channels=None, **options):
    """One visualisation per channel of ``layer``, resumable. Returns (tiles, labels).

    channels: channel indices, in sheet order. folder: the work folder (created, one level).
    model: the Model here; model_path: its file, for Dask workers (None: the bundled InceptionV3).
    workers / scheduler: run on a local Dask cluster of that many processes, or on an existing
    one; neither: here, one tile after another. on_tile(i) is called after tile i is written (here
    only). stuck_channels: a list that gets the channels, among the tiles made now, whose objective
    stayed 0 (off after the ReLU on the whole image; see render.stuck). options: numdream.visualize's
    (size, steps, param, decorrelate, transforms, lr, seed).
    """
    stuck_channels = [] if stuck_channels is None else stuck_channels
    model = model or load_model(model_path)
    channels = [int(c) for c in channels]
    if not channels:
        raise NumdreamError("an atlas needs at least one channel")
    options = dict(options, seed=options.get("seed", 0))
    for index in dict.fromkeys(channels):  # every bad channel or option fails now, before any tile
        visualize(channel(layer, index), model=model, progress=False, **dict(options, steps=0))
    with claim_frames_folder(folder, _settings(layer, channels, model, options), adopt_empty=True) as folder:
        return _make_tiles(folder, layer, channels, model, model_path, workers, scheduler, backend_name, progress,
                           on_tile, stuck_channels, options)


def _make_tiles(folder, layer, channels, model, model_path, workers, scheduler, backend_name, progress, on_tile,
                stuck_channels, options):
    tiles = {i: saved_frame(folder, i) for i in range(len(channels))}
    todo = [i for i, tile in tiles.items() if tile is None]
    # a with block: on Ctrl-C or an error the bar is closed now, before the CLI prints its one line
    # (left to the garbage collector, it drew itself again after that line)
    with tqdm(total=len(channels), initial=len(channels) - len(todo), desc="atlas", unit="tile",
              file=sys.stderr, disable=not progress) as bar:
        if workers or scheduler:
            failed = _on_dask(folder, todo, layer, channels, model_path, backend_name, options, workers, scheduler,
                              bar, stuck_channels)
            if failed:
                raise NumdreamError(f"{len(failed)} of {len(todo)} tiles failed (the others are saved; run again "
                                    f"to retry), first: channel {channels[failed[0][0]]}: {failed[0][1]}")
            tiles.update({i: load_image(frame_path(folder, i)) for i in todo})
        else:
            for i in todo:
                tiles[i], zero = make_tile(folder, i, layer, channels[i], model, options)
                if zero:
                    stuck_channels.append(channels[i])
                bar.update()
                if on_tile is not None:
                    on_tile(i)
    return [tiles[i] for i in range(len(channels))], [tile_label(layer, c) for c in channels]


def _on_dask(folder, todo, layer, channels, model_path, backend_name, options, workers, scheduler, bar,
             stuck_channels):
    """Submit one task per missing tile; returns [(i, message)] of the tiles that failed."""
    distributed = require_dask()
    folder = str(folder.resolve())  # workers may run in another folder
    model_path = str(Path(model_path).resolve()) if model_path else None
    failed = []
    with connect(workers, scheduler) as client:
        futures = {client.submit(tile_task, folder, i, layer, channels[i], model_path, backend_name, options,
                                 pure=False, key=f"atlas-{i}-{channels[i]}"): i for i in todo}
        for future in distributed.as_completed(futures):
            error, zero = ((one_line(future.exception(), with_type=True), False) if future.status == "error"
                           else future.result())
            if error is not None:
                failed.append((futures[future], error))
            if zero:
                stuck_channels.append(channels[futures[future]])
            bar.update()
    stuck_channels.sort()
    return sorted(failed)
