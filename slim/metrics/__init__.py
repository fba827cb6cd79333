"""TF-Slim's streaming metrics (`slim.metrics.streaming_accuracy`, `aggregate_metric_map`, ...)."""

from slim.metrics.metric_ops import *  # noqa: F403
from slim.metrics.metric_ops import __all__, in_top_k  # noqa: F401
