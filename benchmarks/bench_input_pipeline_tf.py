"""The tf.data side of bench_input_pipeline.py (run with a Python that has TensorFlow; not a project dependency).

Reads the same image_folder TFRecords, decodes the JPEGs and applies TF-Slim's inception ``preprocess_for_train`` in
its default fast mode (``sample_distorted_bounding_box`` with TF-Slim's arguments, one bilinear resize, random flip,
one of two colour-distortion orderings, scale to [-1, 1]), written here with tf.image ops as research/slim has it,
then batches. ``num_parallel_calls`` and TF's intra/inter-op thread pools are set to the worker count, so that both
sides use the same number of cores. Prints ``{workers: images/s}`` as JSON on the last line.
"""

import argparse
import glob
import json
import os
import time

import tensorflow as tf


def distort_color_fast(image, ordering):
    def brightness_then_saturation():
        x = tf.image.random_brightness(image, max_delta=32.0 / 255.0)
        return tf.image.random_saturation(x, lower=0.5, upper=1.5)

    def saturation_then_brightness():
        x = tf.image.random_saturation(image, lower=0.5, upper=1.5)
        return tf.image.random_brightness(x, max_delta=32.0 / 255.0)

    image = tf.cond(tf.equal(ordering, 0), brightness_then_saturation, saturation_then_brightness)
    return tf.clip_by_value(image, 0.0, 1.0)


def preprocess_for_train(image, height=224, width=224):
    image = tf.image.convert_image_dtype(image, tf.float32)
    bbox = tf.constant([0.0, 0.0, 1.0, 1.0], dtype=tf.float32, shape=[1, 1, 4])
    begin, size, _ = tf.image.sample_distorted_bounding_box(
        tf.shape(image),
        bounding_boxes=bbox,
        min_object_covered=0.1,
        aspect_ratio_range=(0.75, 1.33),
        area_range=(0.05, 1.0),
        max_attempts=100,
        use_image_if_no_bounding_boxes=True,
    )
    image = tf.slice(image, begin, size)
    image = tf.image.resize(image, [height, width], method="bilinear")
    image = tf.image.random_flip_left_right(image)
    image = distort_color_fast(image, tf.random.uniform([], maxval=2, dtype=tf.int32))
    return (image - 0.5) * 2.0


def parse(record):
    features = tf.io.parse_single_example(
        record,
        {
            "image/encoded": tf.io.FixedLenFeature([], tf.string),
            "image/class/label": tf.io.FixedLenFeature([], tf.int64),
        },
    )
    image = tf.io.decode_jpeg(features["image/encoded"], channels=3)
    return preprocess_for_train(image), features["image/class/label"]


def images_per_second(files, workers, batch_size, num_batches, warmup):
    dataset = tf.data.TFRecordDataset(files).repeat().shuffle(20 * batch_size, seed=0)
    dataset = dataset.map(parse, num_parallel_calls=workers).batch(batch_size).prefetch(2)
    options = tf.data.Options()
    options.threading.private_threadpool_size = workers
    dataset = dataset.with_options(options)
    iterator = iter(dataset)
    for _ in range(warmup):
        next(iterator)
    start = time.perf_counter()
    for _ in range(num_batches):
        images, _ = next(iterator)
    assert images.shape == (batch_size, 224, 224, 3)
    return num_batches * batch_size / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset_dir", required=True)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--num_batches", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    files = sorted(glob.glob(os.path.join(args.dataset_dir, "image_folder_train_*.tfrecord")))
    results = {}
    for workers in [int(w) for w in args.workers.split(",")]:
        # Thread pools are process-wide and fixed at first use: measure each worker count in a fresh process.
        if len(args.workers.split(",")) > 1:
            import subprocess
            import sys

            out = subprocess.run(
                [sys.executable, __file__, "--dataset_dir", args.dataset_dir, "--batch_size", str(args.batch_size),
                 "--num_batches", str(args.num_batches), "--warmup", str(args.warmup), "--workers", str(workers)],
                check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            results.update(json.loads(out.strip().splitlines()[-1]))
            continue
        tf.config.threading.set_intra_op_parallelism_threads(workers)
        tf.config.threading.set_inter_op_parallelism_threads(workers)
        results[workers] = images_per_second(files, workers, args.batch_size, args.num_batches, args.warmup)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
