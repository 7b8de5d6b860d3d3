"""The machine the package runs on: safe writes into owned folders, output folders, memory.

* :mod:`.writes`: atomic writes, never through a link, the shared names and errors;
  :mod:`.manifests`: which entries of a folder are ours; :mod:`.folder_lock`: one writer at
  a time; :mod:`.output_folder`: one output folder of a data-writing command.
"""
