"""NASNet-A and PNASNet-5: architecture-searched cells stacked by one builder."""
