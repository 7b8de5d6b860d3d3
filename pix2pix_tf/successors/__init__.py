"""Levers of pix2pix's successors that the paper does not have (all off by default).

:class:`~pix2pix_tf.successors.config.SuccessorConfig` adds their fields to the paper's
config; :class:`~pix2pix_tf.successors.model.SuccessorPix2Pix` trains it with its own step;
:func:`~pix2pix_tf.successors.model.model_class` picks the model for any config.
"""
