"""The programs on top of the library: the ``pix2pix-tf`` command line and the web demo."""
