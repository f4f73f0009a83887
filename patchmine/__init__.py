"""patchmine: which training patches make an image-restoration network good (Soh & Cho, 2022)."""

__version__ = "0.1.0"
