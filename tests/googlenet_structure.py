"""BVLC GoogLeNet's layers (Caffe's models/bvlc_googlenet/train_val.prototxt), with random weights.

The layer list is the real one: the names, types, kernels, pads, strides and channel counts of
bvlc_googlenet, its Dropout and in-place ReLU layers, its TRAIN and TEST data layers (with the
ImageNet mean), loss and accuracy layers and, optionally, its two auxiliary classifiers
(loss1 on inception_4a, loss2 on inception_4d). Weights are He-initialised (std sqrt(2 / fan_in)),
so activations keep their scale through 22 layers. Layers are dicts as tests/protobuf_write.py
describes them.
"""
import numpy as np

# inception module -> (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj); output = 1x1 + 3x3 + 5x5 + pool proj
INCEPTION = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}
# blob -> (channels, height, width) that Caffe gives for a 224 x 224 input
SHAPES_AT_224 = {
    "conv1/7x7_s2": (64, 112, 112), "pool1/3x3_s2": (64, 56, 56), "pool1/norm1": (64, 56, 56),
    "conv2/3x3_reduce": (64, 56, 56), "conv2/3x3": (192, 56, 56), "conv2/norm2": (192, 56, 56),
    "pool2/3x3_s2": (192, 28, 28), "inception_3a/output": (256, 28, 28),
    "inception_3b/output": (480, 28, 28), "pool3/3x3_s2": (480, 14, 14),
    "inception_4a/output": (512, 14, 14), "inception_4b/output": (512, 14, 14),
    "inception_4c/output": (512, 14, 14), "inception_4d/output": (528, 14, 14),
    "inception_4e/output": (832, 14, 14), "pool4/3x3_s2": (832, 7, 7),
    "inception_5a/output": (832, 7, 7), "inception_5b/output": (1024, 7, 7),
    "pool5/7x7_s1": (1024, 1, 1), "loss3/classifier": (1000, 1, 1), "prob": (1000, 1, 1),
    "loss1/ave_pool": (512, 4, 4), "loss1/fc": (1024, 1, 1), "loss2/classifier": (1000, 1, 1),
}


class _Builder:
    def __init__(self, rng):
        self.rng, self.layers, self.channels = rng, [], {"data": 3}

    def conv(self, name, bottom, out, kernel, stride=1, pad=0, relu_name=None):
        cin = self.channels[bottom]
        w = self.rng.standard_normal((out, cin, kernel, kernel), dtype=np.float32)
        w *= np.float32(np.sqrt(2.0 / (cin * kernel * kernel)))
        b = (self.rng.standard_normal(out, dtype=np.float32) * np.float32(0.01))
        param = {"num_output": out, "kernel_size": kernel}
        param.update({"stride": stride} if stride != 1 else {}, **({"pad": pad} if pad else {}))
        self.layers.append({"name": name, "type": "Convolution", "bottom": [bottom], "top": [name],
                            "param": param, "blobs": [w, b]})
        self.channels[name] = out
        self.layers.append({"name": relu_name, "type": "ReLU", "bottom": [name], "top": [name]})
        return name

    def pool(self, name, bottom, method, kernel, stride, pad=0):
        param = {"pool": 0 if method == "MAX" else 1, "kernel_size": kernel, "stride": stride}
        param.update({"pad": pad} if pad else {})
        self.layers.append({"name": name, "type": "Pooling", "bottom": [bottom], "top": [name], "param": param})
        self.channels[name] = self.channels[bottom]
        return name

    def lrn(self, name, bottom):
        self.layers.append({"name": name, "type": "LRN", "bottom": [bottom], "top": [name],
                            "param": {"local_size": 5, "alpha": 0.0001, "beta": 0.75}})
        self.channels[name] = self.channels[bottom]
        return name

    def fc(self, name, bottom, out, features):
        w = self.rng.standard_normal((out, features), dtype=np.float32) * np.float32(np.sqrt(2.0 / features))
        b = self.rng.standard_normal(out, dtype=np.float32) * np.float32(0.01)
        self.layers.append({"name": name, "type": "InnerProduct", "bottom": [bottom], "top": [name],
                            "param": {"num_output": out}, "blobs": [w, b]})
        self.channels[name] = out
        return name

    def inception(self, key, bottom):
        p, (c1, r3, c3, r5, c5, pp) = f"inception_{key}/", INCEPTION[key]
        branches = [self.conv(p + "1x1", bottom, c1, 1, relu_name=p + "relu_1x1")]
        self.conv(p + "3x3_reduce", bottom, r3, 1, relu_name=p + "relu_3x3_reduce")
        branches.append(self.conv(p + "3x3", p + "3x3_reduce", c3, 3, pad=1, relu_name=p + "relu_3x3"))
        self.conv(p + "5x5_reduce", bottom, r5, 1, relu_name=p + "relu_5x5_reduce")
        branches.append(self.conv(p + "5x5", p + "5x5_reduce", c5, 5, pad=2, relu_name=p + "relu_5x5"))
        self.pool(p + "pool", bottom, "MAX", 3, 1, pad=1)
        branches.append(self.conv(p + "pool_proj", p + "pool", pp, 1, relu_name=p + "relu_pool_proj"))
        self.layers.append({"name": p + "output", "type": "Concat", "bottom": branches, "top": [p + "output"]})
        self.channels[p + "output"] = c1 + c3 + c5 + pp
        return p + "output"

    def dropout(self, name, blob, ratio):
        self.layers.append({"name": name, "type": "Dropout", "bottom": [blob], "top": [blob],
                            "param": {"dropout_ratio": ratio}})

    def losses(self, prefix, logits, weight_name):
        self.layers.append({"name": weight_name, "type": "SoftmaxWithLoss", "bottom": [logits, "label"],
                            "top": [weight_name]})
        for k in ("top-1", "top-5"):
            self.layers.append({"name": f"{prefix}/{k}", "type": "Accuracy", "bottom": [logits, "label"],
                                "top": [f"{prefix}/{k}"], "phase": "TEST"})

    def aux_head(self, n, bottom):
        p = f"loss{n}/"
        self.pool(p + "ave_pool", bottom, "AVE", 5, 3)
        self.conv(p + "conv", p + "ave_pool", 128, 1, relu_name=p + "relu_conv")
        self.fc(p + "fc", p + "conv", 1024, 128 * 4 * 4)
        self.layers.append({"name": p + "relu_fc", "type": "ReLU", "bottom": [p + "fc"], "top": [p + "fc"]})
        self.dropout(p + "drop_fc", p + "fc", 0.7)
        self.fc(p + "classifier", p + "fc", 1000, 1024)
        self.losses(f"loss{n}", p + "classifier", p + "loss")


def bvlc_googlenet_layers(seed=0, aux=True, data_layers=True):
    """The layer dicts of bvlc_googlenet's train_val net (``aux``: with loss1/loss2 heads;
    ``data_layers``: with the TRAIN/TEST data layers and the loss and accuracy layers)."""
    g = _Builder(np.random.default_rng(seed))
    if data_layers:
        for phase in ("TRAIN", "TEST"):
            g.layers.append({"name": "data", "type": "Data", "top": ["data", "label"], "phase": phase,
                             "transform": {"mirror": int(phase == "TRAIN"), "crop_size": 224,
                                           "mean_value": [104, 117, 123]}})
    x = g.conv("conv1/7x7_s2", "data", 64, 7, stride=2, pad=3, relu_name="conv1/relu_7x7")
    x = g.lrn("pool1/norm1", g.pool("pool1/3x3_s2", x, "MAX", 3, 2))
    x = g.conv("conv2/3x3_reduce", x, 64, 1, relu_name="conv2/relu_3x3_reduce")
    x = g.lrn("conv2/norm2", g.conv("conv2/3x3", x, 192, 3, pad=1, relu_name="conv2/relu_3x3"))
    x = g.pool("pool2/3x3_s2", x, "MAX", 3, 2)
    x = g.inception("3b", g.inception("3a", x))
    x = g.inception("4a", g.pool("pool3/3x3_s2", x, "MAX", 3, 2))
    if aux:
        g.aux_head(1, x)
    x = g.inception("4d", g.inception("4c", g.inception("4b", x)))
    if aux:
        g.aux_head(2, x)
    x = g.inception("4e", x)
    x = g.inception("5b", g.inception("5a", g.pool("pool4/3x3_s2", x, "MAX", 3, 2)))
    x = g.pool("pool5/7x7_s1", x, "AVE", 7, 1)
    g.dropout("pool5/drop_7x7_s1", x, 0.4)
    logits = g.fc("loss3/classifier", x, 1000, 1024)
    if data_layers:
        g.losses("loss3", logits, "loss3/loss3")
    g.layers.append({"name": "prob", "type": "Softmax", "bottom": [logits], "top": ["prob"]})
    return g.layers
