"""The machine the package runs on: safe writes into owned folders, output folders, memory."""
