"""Fast paths that specialise the readable ops of numdream.ops for the dream loop.

They compute the same values (the tests check them against numdream.ops), but trade
readability for memory traffic: see conv.py.
"""
