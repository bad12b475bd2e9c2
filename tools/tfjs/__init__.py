"""Helpers of tools/convert_tfjs.py: read a TF.js layers model that nsfwjs wraps in JavaScript.

jsliteral  parses the JavaScript object literals (in Python, no node needed)
package    finds the model files, decodes the base64 shards and dequantizes the uint8 weights
keras      turns the Keras topology into numdream nodes, folding BatchNormalization into convs
"""
