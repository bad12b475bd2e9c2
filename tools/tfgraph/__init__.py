"""Reading TensorFlow GraphDef files (such as inception5h's tensorflow_inception_graph.pb) for
tools/convert_tf_graph.py."""


class GraphError(Exception):
    """A GraphDef numdream cannot convert; the message names the file, node and problem."""
