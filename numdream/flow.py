"""Motion-compensated dreaming: carry the previous frame's dream along the optical flow.

For frame t with the dream of frame t-1 in hand (issue 15; Ruder et al. 2016, "Artistic style
transfer for videos", do the same for style transfer):

    flow_fw = estimate_flow(frame[t-1], frame[t])        on the ORIGINAL frames, not the dreams
    flow_bw = estimate_flow(frame[t], frame[t-1])
    weight  = consistency_weight(flow_fw, flow_bw)       0 where the two flows disagree
    detail  = warped_detail(frame[t-1], dream[t-1], flow_bw)
    start   = next_start(frame[t], detail, blend, weight)     unless is_scene_cut(weight)
    dream[t] = dream(start, ...)

Conventions, once for the whole module. Images are (H, W, C) arrays indexed [y, x]; a flow is
(H, W, 2) float32 in pixels, [..., 0] along x (columns) and [..., 1] along y (rows), and it lives
on the grid of the frame it starts from: ``flow_ab = estimate_flow(a, b)`` says that the pixel
(x, y) of frame a is seen at (x + flow_ab[y, x, 0], y + flow_ab[y, x, 1]) in frame b (OpenCV's
convention). So flow_fw lives on frame t-1's grid and flow_bw on frame t's.

Warping is backward: ``warp(image_b, flow_ab)`` gives, on frame a's grid, image_b sampled where
each pixel of a went, so ``warp(frame[t-1], flow_bw)`` looks like frame[t]. Only flow_bw is needed
to warp; flow_fw serves the consistency check. Pixel centres are at integer coordinates, and a
position is inside the frame when 0 <= x <= W-1 and 0 <= y <= H-1 (both bilinear neighbours real).

OpenCV (``opencv-python-headless``, the ``video`` extra) is imported lazily by ``require_cv2``: it
is optional, and numdream without it still dreams stills and blends videos without flow.
The parameters of the two estimators and their measured defaults are in numdream/flowparams.py.
"""
import numpy as np

from .errors import NumdreamError
from .flowparams import check_dis_fits, check_flow_params

# Ruder et al. 2016 (after Sundaram et al. 2010): |w_fw(x + w_bw) + w_bw|^2 <= ALPHA (|w_fw(x + w_bw)|^2 + |w_bw|^2) + BETA
CONSISTENCY_ALPHA = 0.01   # tolerance that grows with the motion: large motions are estimated less exactly
CONSISTENCY_BETA = 0.5     # pixels^2: the error allowed for any motion (about 0.7 pixel)
# is_scene_cut: a frame pair with fewer consistent pixels than this starts a fresh dream. Measured on
# the clips of benchmarks/video_clips.py (python benchmarks/bench_flow.py) with the default DIS:
# pans, zooms and moving crops keep 0.95-1.0 of their pixels consistent, the scene cut 0.02 or
# less. Farneback keeps 0.28 at the cut (flat sky looks consistent to it): 0.5 still separates.
SCENE_CUT_THRESHOLD = 0.5


def require_cv2():
    """The cv2 module, or one clear NumdreamError saying how to install it."""
    try:
        import cv2  # optional (the video extra): imported only where optical flow is asked for
    except ImportError:
        raise NumdreamError("optical flow needs OpenCV (opencv-python-headless), which is not installed; "
                            "run: pip install 'numdream[video]'") from None
    return cv2


def estimate_flow(prev, nxt, method="dis", **params):
    """Dense optical flow from frame ``prev`` to frame ``nxt``.

    prev, nxt: uint8 (H, W, 3) RGB frames of the same size (converted to gray for OpenCV).
    method: 'dis' (default: DIS, Kroeger et al. 2016) or 'farneback' (Farneback 2003).
    params: the method's parameters (numdream.flowparams.FLOW_PARAMS); unknown ones are refused.
    returns: (H, W, 2) float32 flow on prev's grid: prev[y, x] is seen at nxt[y + f[..., 1], x + f[..., 0]].
    """
    cv2 = require_cv2()
    params = check_flow_params(method, params)
    prev = _check_frame(prev)
    a, b = (cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in (prev, _check_frame(nxt, prev.shape)))
    if method == "farneback":
        flow = cv2.calcOpticalFlowFarneback(a, b, None, params["pyr_scale"], params["levels"], params["winsize"],
                                            params["iterations"], params["poly_n"], params["poly_sigma"], 0)
    else:
        check_frame_size(*a.shape, method, params)
        dis = cv2.DISOpticalFlow_create(params["preset_id"])
        dis.setFinestScale(params["finest_scale"])
        dis.setPatchSize(params["patch_size"])
        dis.setPatchStride(params["patch_stride"])
        dis.setGradientDescentIterations(params["descent_iterations"])
        dis.setVariationalRefinementIterations(params["refinement_iterations"])
        flow = dis.calc(a, b, None)
    return np.ascontiguousarray(flow, dtype=np.float32)


def _check_frame(frame, shape=None):
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise NumdreamError(f"optical flow needs uint8 (H, W, 3) RGB frames, got {frame.dtype} {frame.shape}")
    if shape is not None and frame.shape != shape:
        raise NumdreamError(f"optical flow between frames of different sizes {shape} and {frame.shape}")
    check_frame_size(*frame.shape[:2])
    return np.ascontiguousarray(frame)


def check_frame_size(height, width, method=None, params=None):
    """Refuse frames of (height, width) too small for optical flow, and for DIS with ``params``
    (checked, from check_flow_params) when ``method`` is 'dis': one NumdreamError line, before
    a long run rather than at its second frame."""
    if min(height, width) < 16:
        raise NumdreamError(f"frame of {width}x{height} is too small for optical flow; "
                            "frames need at least 16 pixels each way")
    if method == "dis":
        check_dis_fits(params, height, width)


def sample_positions(flow):
    """Where each pixel samples: (x + flow_x, y + flow_y) as two float32 (H, W) maps, and the
    (H, W) bool mask of positions outside the frame (see the module docstring)."""
    h, w = flow.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    map_x = xs + flow[..., 0]
    map_y = ys + flow[..., 1]
    outside = (map_x < 0) | (map_x > w - 1) | (map_y < 0) | (map_y > h - 1)
    return map_x, map_y, outside


def warp(image, flow):
    """Backward warp: ``out[y, x] = image[y + flow[y, x, 1], x + flow[y, x, 0]]``, bilinear.

    image: (H, W) or (H, W, C) with C <= 4, any real dtype (computed in float32).
    flow: (H, W, 2) float32 in pixels, on the grid of the output.
    returns: (out, outside): out float32 of image's shape; outside (H, W) bool, True where the
        sampled position fell outside the frame. There ``out`` holds the nearest edge pixel's value
        (cv2.BORDER_REPLICATE), a harmless filler rather than black, since callers give such
        pixels weight 0. cv2.remap rounds sample positions to 1/32 pixel (its INTER_TAB_SIZE);
        warp_naive is the exact bilinear oracle.
    """
    cv2 = require_cv2()
    image = np.ascontiguousarray(image, dtype=np.float32)
    if image.shape[:2] != flow.shape[:2] or flow.shape[2:] != (2,):
        raise NumdreamError(f"cannot warp an image of shape {image.shape} by a flow of shape {flow.shape}")
    map_x, map_y, outside = sample_positions(np.asarray(flow, dtype=np.float32))
    out = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(image.shape), outside


def warp_naive(image, flow):
    """The oracle of ``warp`` (tests only): exact bilinear sampling in NumPy, positions clamped to
    the frame as BORDER_REPLICATE does. Same shapes and returns as ``warp``."""
    image = np.asarray(image, dtype=np.float64)
    h, w = image.shape[:2]
    map_x, map_y, outside = sample_positions(np.asarray(flow, dtype=np.float32))
    x = np.clip(map_x.astype(np.float64), 0, w - 1)
    y = np.clip(map_y.astype(np.float64), 0, h - 1)
    x0 = np.minimum(np.floor(x).astype(int), w - 2)
    y0 = np.minimum(np.floor(y).astype(int), h - 2)
    fx, fy = x - x0, y - y0
    if image.ndim == 3:
        fx, fy = fx[..., None], fy[..., None]
    top = image[y0, x0] * (1 - fx) + image[y0, x0 + 1] * fx
    bottom = image[y0 + 1, x0] * (1 - fx) + image[y0 + 1, x0 + 1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32), outside


def consistency_weight(flow_fw, flow_bw, alpha=CONSISTENCY_ALPHA, beta=CONSISTENCY_BETA, soft=False):
    """How far to trust the warp onto frame t, per pixel: the forward-backward check.

    flow_fw: (H, W, 2), frame t-1 -> t on t-1's grid; flow_bw: (H, W, 2), t -> t-1 on t's grid.
    A pixel x of frame t goes back to x + flow_bw(x) in t-1, and flow_fw there should bring it
    back to x: fw = flow_fw(x + flow_bw(x)) should be -flow_bw(x). It is consistent when
        |fw + flow_bw|^2 <= alpha (|fw|^2 + |flow_bw|^2) + beta      (Sundaram 2010, Ruder 2016).
    It fails where frame t shows what t-1 did not (disocclusions: the background an object
    uncovers), on the occluding edges, at a scene cut, and where x + flow_bw(x) is off the frame.
    soft: False gives weights 0 or 1; True ramps from 1 at the bound to 0 at twice the bound.
    returns: (H, W) float32 in [0, 1], on frame t's grid.
    """
    fw, outside = warp(flow_fw, flow_bw)
    excess = np.sum((fw + flow_bw) ** 2, axis=2) / (alpha * (np.sum(fw ** 2, axis=2) +
                                                             np.sum(flow_bw ** 2, axis=2)) + beta)
    weight = np.clip(2.0 - excess, 0.0, 1.0) if soft else (excess <= 1.0).astype(np.float32)
    weight[outside] = 0.0
    return weight.astype(np.float32)


def is_scene_cut(weight, threshold=SCENE_CUT_THRESHOLD):
    """True when fewer than ``threshold`` of frame t's pixels are consistent (mean weight), so
    frame t has little to do with frame t-1 and its dream should start afresh.

    weight: (H, W) in [0, 1] from consistency_weight; threshold: in [0, 1].
    """
    return bool(np.mean(weight) < threshold)


def warped_detail(prev_frame, prev_dream, flow_bw):
    """What the dream added to frame t-1, moved onto frame t.

    prev_frame, prev_dream: uint8 (H, W, 3), frame t-1 and its dream; flow_bw: (H, W, 2), t -> t-1.
    returns: (H, W, 3) float32 detail (dream - frame, in -255..255) on frame t's grid. Where the
        position is off the frame it is the edge's detail; consistency_weight gives those 0.
    """
    if prev_dream.shape != prev_frame.shape:
        raise NumdreamError(f"dream of shape {prev_dream.shape} for a frame of shape {prev_frame.shape}; "
                            "a frame and its dream must have the same size")
    detail = prev_dream.astype(np.float32) - prev_frame.astype(np.float32)
    return warp(detail, flow_bw)[0]


def next_start(frame, detail, blend, weight):
    """The image frame t's dream starts from: frame + blend * weight * detail, rounded.

    frame: uint8 (H, W, 3) frame t; detail: (H, W, 3) float32 from warped_detail;
    blend: 0 <= blend <= 1; weight: (H, W) in [0, 1] from consistency_weight.
    returns: uint8 (H, W, 3). With no motion and weight 1 this is the plain blend of
        numdream.video.blend_frames: (1 - blend) * frame + blend * dream(t-1).
    """
    if detail.shape != frame.shape or weight.shape != frame.shape[:2]:
        raise NumdreamError(f"frame {frame.shape}, detail {detail.shape} and weight {weight.shape} "
                            "must have the same height and width")
    start = frame.astype(np.float32) + np.float32(blend) * weight[..., None] * detail
    return np.clip(np.rint(start), 0, 255).astype(np.uint8)


def flow_and_weight(prev_frame, frame, method="dis", **params):
    """Both flows of a frame pair and their check: (flow_bw, weight).

    prev_frame, frame: uint8 (H, W, 3) frames t-1 and t; method and params as for estimate_flow.
    returns: flow_bw (H, W, 2) float32, t -> t-1 (what warps t-1 onto t); weight (H, W) float32
        from consistency_weight. A deterministic function of the two frames (tests check it for
        any number of OpenCV threads), so a resumed run or a Dask worker finds what a run did.
    """
    flow_fw = estimate_flow(prev_frame, frame, method, **params)
    flow_bw = estimate_flow(frame, prev_frame, method, **params)
    return flow_bw, consistency_weight(flow_fw, flow_bw)


def set_flow_threads(threads):
    """Give OpenCV's own thread pool ``threads`` threads (a Dask worker's share of the cores, so
    workers do not oversubscribe them); the flows do not depend on it."""
    require_cv2().setNumThreads(int(threads))


def carry_dream(prev_frame, prev_dream, frame, blend, method="dis", threshold=SCENE_CUT_THRESHOLD, **params):
    """The whole step: where frame t's dream starts, given frame t-1 and its dream.

    prev_frame, prev_dream, frame: uint8 (H, W, 3); blend in [0, 1]; method and params as for
    estimate_flow; threshold as for is_scene_cut.
    returns: (start uint8 (H, W, 3), weight (H, W) float32, cut bool). On a scene cut the start is
        frame t itself and the weight is all 0: nothing of the previous scene comes along.
    """
    flow_bw, weight = flow_and_weight(prev_frame, frame, method, **params)
    if is_scene_cut(weight, threshold):
        return frame.copy(), np.zeros_like(weight), True
    return next_start(frame, warped_detail(prev_frame, prev_dream, flow_bw), blend, weight), weight, False
