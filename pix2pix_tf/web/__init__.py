"""The browser side: the drawing widget (palettes, its front end) and the exported web page."""
