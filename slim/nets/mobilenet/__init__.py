"""MobileNet v2, v3 and EdgeTPU: one generic builder (``mobilenet``) driven by per-version ``conv_defs`` tables."""
