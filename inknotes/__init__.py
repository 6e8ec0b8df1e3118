"""inknotes: photos and scans of handwritten pages turned into editable digital ink."""

__version__ = "0.1.0"
