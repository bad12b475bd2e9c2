"""Puts tools/ on sys.path so tests can import the converters (convert_caffe, protobuf_wire, ...)."""
import os
import sys

TOOLS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools")
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)
