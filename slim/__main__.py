"""``python -m slim``: the README's main job, the whole TF-Slim workflow offline (see :mod:`slim.demo`)."""

from slim.demo import main

if __name__ == "__main__":
    raise SystemExit(main())
