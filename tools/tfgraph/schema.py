"""Field numbers of TensorFlow's graph protos (tensorflow/core/framework/: graph.proto,
node_def.proto, attr_value.proto, tensor.proto, tensor_shape.proto, types.proto) that the
converter reads, as protobuf_wire schemas."""
DIM = {1: ("size", "int"), 2: ("name", "string")}
SHAPE = {2: ("dim", DIM), 3: ("unknown_rank", "bool")}
TENSOR = {1: ("dtype", "uint"), 2: ("tensor_shape", SHAPE), 4: ("tensor_content", "bytes"),
          5: ("float_val", "float"), 6: ("double_val", "double"), 7: ("int_val", "int"),
          10: ("int64_val", "int")}
LIST = {2: ("s", "bytes"), 3: ("i", "int"), 4: ("f", "float"), 5: ("b", "bool"), 6: ("type", "uint"),
        7: ("shape", SHAPE), 8: ("tensor", TENSOR)}
ATTR = {1: ("list", LIST), 2: ("s", "bytes"), 3: ("i", "int"), 4: ("f", "float"), 5: ("b", "bool"),
        6: ("type", "uint"), 7: ("shape", SHAPE), 8: ("tensor", TENSOR)}
ATTR_ENTRY = {1: ("key", "string"), 2: ("value", ATTR)}  # map<string, AttrValue> on the wire
NODE = {1: ("name", "string"), 2: ("op", "string"), 3: ("input", "string"), 4: ("device", "string"),
        5: ("attr", ATTR_ENTRY)}
GRAPH = {1: ("node", NODE), 3: ("version", "int")}

# DataType (types.proto) -> numpy dtype of a tensor_content buffer
DTYPES = {1: "<f4", 2: "<f8", 3: "<i4", 9: "<i8"}
DTYPE_NAMES = {1: "float32", 2: "float64", 3: "int32", 4: "uint8", 5: "int16", 6: "int8", 7: "string",
               9: "int64", 10: "bool"}
