"""pix2pix-tf: Pix2Pix (Isola et al., CVPR 2017) in Keras 3 / TensorFlow, for teaching and for use."""

__version__ = "0.1.0"
