"""Ego4D-format data: loading and validation, user split, synthetic dataset, PyAV reader, cache.

The only package that imports ``av``. Implements :class:`ego_cl.protocols.StreamSource`.
"""
