"""The image-classification networks of TF-Slim's nets factory, with TF-Slim's variable names and end points."""

from slim.nets.nets_factory import get_network_fn, get_network_spec, list_networks, register_network

__all__ = ["get_network_fn", "get_network_spec", "list_networks", "register_network"]
