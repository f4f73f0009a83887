"""Restoration networks, each in a short module of plain PyTorch."""
