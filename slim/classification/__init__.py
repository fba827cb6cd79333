"""The image-classification workflows behind the scripts: training and evaluation of nets-factory networks."""
