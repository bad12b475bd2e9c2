"""Field numbers of the parts of caffe.proto (BVLC/caffe src/caffe/proto/caffe.proto) that the
converter reads: the net, its layers in both formats (V2 ``layer`` = 100, legacy V1 ``layers``
= 2), weight blobs, and the parameters of the layer types numdream supports.
Used for the binary .caffemodel (protobuf_wire.decode) and the text .prototxt (prototxt.parse_text).
"""
PHASE = ("enum", {"TRAIN": 0, "TEST": 1})

BLOB_SHAPE = {1: ("dim", "int")}
BLOB = {
    7: ("shape", BLOB_SHAPE),
    5: ("data", "float"),
    8: ("double_data", "double"),
    1: ("num", "int"), 2: ("channels", "int"), 3: ("height", "int"), 4: ("width", "int"),  # legacy 4-D
}
NET_STATE_RULE = {1: ("phase", PHASE)}

CONVOLUTION = {
    1: ("num_output", "uint"), 2: ("bias_term", "bool"), 5: ("group", "uint"), 16: ("axis", "int"),
    3: ("pad", "uint"), 4: ("kernel_size", "uint"), 6: ("stride", "uint"), 18: ("dilation", "uint"),
    9: ("pad_h", "uint"), 10: ("pad_w", "uint"), 11: ("kernel_h", "uint"), 12: ("kernel_w", "uint"),
    13: ("stride_h", "uint"), 14: ("stride_w", "uint"),
}
POOLING = {
    1: ("pool", ("enum", {"MAX": 0, "AVE": 1, "STOCHASTIC": 2})),
    4: ("pad", "uint"), 9: ("pad_h", "uint"), 10: ("pad_w", "uint"),
    2: ("kernel_size", "uint"), 5: ("kernel_h", "uint"), 6: ("kernel_w", "uint"),
    3: ("stride", "uint"), 7: ("stride_h", "uint"), 8: ("stride_w", "uint"),
    12: ("global_pooling", "bool"),
    13: ("round_mode", ("enum", {"CEIL": 0, "FLOOR": 1})),  # BVLC caffe since 2018; default CEIL
}
LRN = {
    1: ("local_size", "uint"), 2: ("alpha", "float"), 3: ("beta", "float"), 5: ("k", "float"),
    4: ("norm_region", ("enum", {"ACROSS_CHANNELS": 0, "WITHIN_CHANNEL": 1})),
}
INNER_PRODUCT = {1: ("num_output", "uint"), 2: ("bias_term", "bool"), 5: ("axis", "int"),
                 6: ("transpose", "bool")}
CONCAT = {2: ("axis", "int"), 1: ("concat_dim", "uint")}
SOFTMAX = {2: ("axis", "int")}
RELU = {1: ("negative_slope", "float")}
TRANSFORM = {1: ("scale", "float"), 5: ("mean_value", "float"), 4: ("mean_file", "string")}
INPUT = {1: ("shape", BLOB_SHAPE)}

LAYER = {  # LayerParameter, the V2 format (2015 on)
    1: ("name", "string"), 2: ("type", "string"), 3: ("bottom", "string"), 4: ("top", "string"),
    7: ("blobs", BLOB), 8: ("include", NET_STATE_RULE), 9: ("exclude", NET_STATE_RULE),
    100: ("transform_param", TRANSFORM), 104: ("concat_param", CONCAT),
    106: ("convolution_param", CONVOLUTION), 117: ("inner_product_param", INNER_PRODUCT),
    118: ("lrn_param", LRN), 121: ("pooling_param", POOLING), 123: ("relu_param", RELU),
    125: ("softmax_param", SOFTMAX), 143: ("input_param", INPUT),
}

# V1LayerParameter.LayerType -> the V2 type string Caffe's upgrade_proto gives it
V1_TYPES = {
    0: "None", 1: "Accuracy", 2: "BNLL", 3: "Concat", 4: "Convolution", 5: "Data", 6: "Dropout",
    7: "EuclideanLoss", 8: "Flatten", 9: "HDF5Data", 10: "HDF5Output", 11: "Im2col",
    12: "ImageData", 13: "InfogainLoss", 14: "InnerProduct", 15: "LRN",
    16: "MultinomialLogisticLoss", 17: "Pooling", 18: "ReLU", 19: "Sigmoid",
    20: "Softmax", 21: "SoftmaxWithLoss", 22: "Split", 23: "TanH", 24: "WindowData",
    25: "Eltwise", 26: "Power", 27: "SigmoidCrossEntropyLoss", 28: "HingeLoss", 29: "MemoryData",
    30: "ArgMax", 31: "Threshold", 32: "DummyData", 33: "Slice", 34: "MVN", 35: "AbsVal",
    36: "Silence", 37: "ContrastiveLoss", 38: "Exp", 39: "Deconvolution",
}
V1_TYPE_NAMES = {  # the enum's own names, as a V1 .prototxt spells them
    "NONE": 0, "ACCURACY": 1, "BNLL": 2, "CONCAT": 3, "CONVOLUTION": 4, "DATA": 5, "DROPOUT": 6,
    "EUCLIDEAN_LOSS": 7, "FLATTEN": 8, "HDF5_DATA": 9, "HDF5_OUTPUT": 10, "IM2COL": 11,
    "IMAGE_DATA": 12, "INFOGAIN_LOSS": 13, "INNER_PRODUCT": 14, "LRN": 15,
    "MULTINOMIAL_LOGISTIC_LOSS": 16, "POOLING": 17, "RELU": 18, "SIGMOID": 19, "SOFTMAX": 20,
    "SOFTMAX_LOSS": 21, "SPLIT": 22, "TANH": 23, "WINDOW_DATA": 24, "ELTWISE": 25, "POWER": 26,
    "SIGMOID_CROSS_ENTROPY_LOSS": 27, "HINGE_LOSS": 28, "MEMORY_DATA": 29, "ARGMAX": 30,
    "THRESHOLD": 31, "DUMMY_DATA": 32, "SLICE": 33, "MVN": 34, "ABSVAL": 35, "SILENCE": 36,
    "CONTRASTIVE_LOSS": 37, "EXP": 38, "DECONVOLUTION": 39,
}
V1_LAYER = {  # V1LayerParameter, the legacy format of NetParameter.layers
    1: ("v0_layer", {}), 2: ("bottom", "string"), 3: ("top", "string"), 4: ("name", "string"),
    5: ("type", ("enum", V1_TYPE_NAMES)), 6: ("blobs", BLOB),
    32: ("include", NET_STATE_RULE), 33: ("exclude", NET_STATE_RULE),
    36: ("transform_param", TRANSFORM), 9: ("concat_param", CONCAT),
    10: ("convolution_param", CONVOLUTION), 17: ("inner_product_param", INNER_PRODUCT),
    18: ("lrn_param", LRN), 19: ("pooling_param", POOLING), 30: ("relu_param", RELU),
    39: ("softmax_param", SOFTMAX),
}

NET = {
    1: ("name", "string"),
    3: ("input", "string"), 8: ("input_shape", BLOB_SHAPE), 4: ("input_dim", "int"),
    100: ("layer", LAYER),
    2: ("layers", V1_LAYER),
}
