#!/bin/bash
#
# TF-Slim's scripts/train_lenet_on_mnist.sh with torch-slim's commands, same flags and values:
# 1. Converts the MNIST dataset to TFRecords (downloads it only when DATASET_DIR does not hold it yet).
# 2. Trains a LeNet model on the MNIST training set.
# 3. Evaluates the model on the MNIST testing set.
#
# Usage:
#   bash recipes/train_lenet_on_mnist.sh
#
# Environment (TF-Slim's values are the defaults):
#   TRAIN_DIR    checkpoints and event logs (/tmp/lenet-model)
#   DATASET_DIR  the MNIST TFRecords (/tmp/mnist)
#   MAX_STEPS    training steps (20000); BATCH_SIZE: per step (50)
#   EXTRA_TRAIN_FLAGS, EXTRA_EVAL_FLAGS  more flags for the train / eval step
#   PYTHON, DOWNLOAD_DATA  see recipes/common.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Where the checkpoint and logs will be saved to.
TRAIN_DIR="${TRAIN_DIR:-/tmp/lenet-model}"
# Where the dataset is saved to.
DATASET_DIR="${DATASET_DIR:-/tmp/mnist}"
MAX_STEPS="${MAX_STEPS:-20000}"
BATCH_SIZE="${BATCH_SIZE:-50}"

# The dataset.
ensure_dataset mnist "${DATASET_DIR}" http://yann.lecun.com/exdb/mnist/ "11 MB" \
  mnist_train.tfrecord mnist_test.tfrecord

# Run training. (EXTRA_*_FLAGS are split into words on purpose: several flags in one variable.)
# shellcheck disable=SC2086
run_slim train_image_classifier \
  --train_dir="${TRAIN_DIR}" \
  --dataset_name=mnist \
  --dataset_split_name=train \
  --dataset_dir="${DATASET_DIR}" \
  --model_name=lenet \
  --preprocessing_name=lenet \
  --max_number_of_steps="${MAX_STEPS}" \
  --batch_size="${BATCH_SIZE}" \
  --learning_rate=0.01 \
  --save_interval_secs=60 \
  --save_summaries_secs=60 \
  --log_every_n_steps=100 \
  --optimizer=sgd \
  --learning_rate_decay_type=fixed \
  --weight_decay=0 \
  ${EXTRA_TRAIN_FLAGS:-}

# Run evaluation.
# shellcheck disable=SC2086
run_slim eval_image_classifier \
  --checkpoint_path="${TRAIN_DIR}" \
  --eval_dir="${TRAIN_DIR}" \
  --dataset_name=mnist \
  --dataset_split_name=test \
  --dataset_dir="${DATASET_DIR}" \
  --model_name=lenet \
  ${EXTRA_EVAL_FLAGS:-}

# The curves (TensorBoard: tensorboard --logdir="${TRAIN_DIR}").
plot_curves "${TRAIN_DIR}" "${TRAIN_DIR}/curves.png"
