"""Command-line scripts with TF-Slim's flags; each is also a Python function taking the flags as keywords."""
