"""Speckle Uploader: drop CAD/BIM files, get Speckle model versions."""

__version__ = "0.1.0"
