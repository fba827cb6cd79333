"""``python -m slim.scripts.label_image``: see :mod:`slim.export.label_image` (which also runs without PyTorch)."""

from slim.export.label_image import main

if __name__ == "__main__":
    raise SystemExit(main())
