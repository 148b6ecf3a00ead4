"""Bytes on disk: the metadata schema, payload encoding, the payload store and record framing.

Everything here is numpy and protobuf only; nothing above it (kinds, the
writer doors, the logging core, the backend) knows how a byte is laid out.
"""
