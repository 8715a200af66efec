"""postprocess package."""
