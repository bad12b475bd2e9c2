"""The full-size bvlc_googlenet structure (tests/googlenet_structure.py, random weights) written
as a legacy V1 .caffemodel, converted, and checked against the blob shapes Caffe gives at
224x224; then one dream step at 640x480 on inception_4c/output, and a class dream at 224x224.
The .caffemodel is 53.5 MB, as the real one, and the conversion takes seconds: marked slow."""
import numpy as np
import pytest

import protobuf_write as pw
from googlenet_structure import SHAPES_AT_224, bvlc_googlenet_layers
from numdream.dream import dream, evaluate
from numdream.model import load_model
from numdream.objectives import Class, fitting_sides
from tool_paths import TOOLS  # noqa: F401 (puts tools/ on sys.path)

import convert_caffe  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def googlenet(tmp_path_factory):
    folder = tmp_path_factory.mktemp("googlenet")
    source = folder / "bvlc_googlenet.caffemodel"
    source.write_bytes(pw.caffemodel(bvlc_googlenet_layers(seed=0), name="GoogleNet", v1=True))
    convert_caffe.convert(str(source), str(folder / "googlenet.h5"))
    return load_model(folder / "googlenet.h5")


def test_blob_shapes_are_caffes_at_224(googlenet):
    shapes = googlenet.output_shapes((224, 224))
    got = {name: (googlenet.layer(name).channels,) + shapes[name] for name in SHAPES_AT_224}
    assert got == SHAPES_AT_224  # pool1/3x3_s2 is 56x56 because Caffe rounds pooling up
    nodes = {n.name: n for n in googlenet.spec.nodes}
    assert nodes["pool1/3x3_s2"].attrs["ceil_mode"] is True
    assert googlenet.spec.preprocess == {"channel_order": "BGR", "mean": [104.0, 117.0, 123.0], "scale": 1.0}
    assert len(googlenet.layer_names) == 154 and googlenet.name == "GoogleNet"
    params = sum(p.size for n in googlenet.spec.nodes for p in n.params.values())
    assert params == 13_378_280  # 6,998,552 in the deploy net + 6,379,728 in the two auxiliary heads


def test_one_dream_step_at_640x480(googlenet):
    image = np.random.default_rng(1).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    out = dream(image, model=googlenet, layers="inception_4c/output", octaves=1, steps=1, seed=0,
                progress=False, jitter=0, tile_size=0)  # untiled, unrolled: the step evaluate() measures
    assert out.shape == (480, 640, 3) and np.abs(out.astype(int) - image).max() > 0
    before, after = (evaluate(img, "l2", "inception_4c/output", googlenet) for img in (image, out))
    assert after > before


def test_class_dream_at_224_raises_the_class_score(googlenet):
    assert fitting_sides(googlenet, "loss3/classifier") == (223, 254)  # Caffe rounds pooling up: all give a 7x7 inception_5b
    image = np.random.default_rng(2).integers(0, 256, (224, 224, 3), dtype=np.uint8)
    out = dream(image, model=googlenet, layers="loss3/classifier", objective="class", class_index=130,
                octaves=2, steps=3, seed=0, progress=False)
    before, after = (evaluate(img, Class("loss3/classifier", 130), model=googlenet) for img in (image, out))
    assert after > before
