"""Concrete datasets (flowers, cifar10, mnist, imagenet, visualwakewords, your own image folder): their splits and
decoders (``dataset_factory.get_dataset``), and the converters that download them and write TFRecords."""
