"""Converted model weights, installed as ``numdream.weights`` (see README.md in this folder)."""
