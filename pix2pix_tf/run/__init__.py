"""Everything around the model: the run folder, training, callbacks, evaluation, prediction, export.

* :mod:`.folder`: the run folder: its layout, whose folder it is, its lock.
* :mod:`.resume`: starting or resuming a run in its folder: the checks, the config of a
  resumed run, its checkpoints.
* :mod:`.loading`: ``load_run``, and "a SavedModel or a run" for the commands that take either.
* :mod:`.options`: ``RunOptions``, how a run goes (length, checkpoints, devices, precision),
  apart from the model's config.
* :mod:`.train`: ``train(config, data_dir, out_dir, options)``, the one entry point of a run.
* :mod:`.callbacks`: snapshots, checkpoints, the NaN guard, throughput, TensorBoard scalars.
* :mod:`.evaluate`, :mod:`.predict`, :mod:`.export`: what a trained run is used for.
* :mod:`.ablations`: the paper's ablation studies, one run per variant.
"""
