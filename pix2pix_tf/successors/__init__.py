"""Levers of pix2pix's successors that the paper does not have (all off by default)."""
