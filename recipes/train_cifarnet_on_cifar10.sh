#!/bin/bash
#
# TF-Slim's scripts/train_cifarnet_on_cifar10.sh with torch-slim's commands, same flags and values:
# 1. Converts the Cifar10 dataset to TFRecords (downloads it only when DATASET_DIR does not hold it yet).
# 2. Trains a CifarNet model on the Cifar10 training set.
# 3. Evaluates the model on the Cifar10 testing set.
#
# Usage:
#   bash recipes/train_cifarnet_on_cifar10.sh
#
# Environment (TF-Slim's values are the defaults):
#   TRAIN_DIR    checkpoints and event logs (/tmp/cifarnet-model)
#   DATASET_DIR  the Cifar10 TFRecords (/tmp/cifar10)
#   MAX_STEPS    training steps (100000); BATCH_SIZE: per step (128)
#   EXTRA_TRAIN_FLAGS, EXTRA_EVAL_FLAGS  more flags for the train / eval step, e.g. --num_clones=2
#   PYTHON, DOWNLOAD_DATA  see recipes/common.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Where the checkpoint and logs will be saved to.
TRAIN_DIR="${TRAIN_DIR:-/tmp/cifarnet-model}"
# Where the dataset is saved to.
DATASET_DIR="${DATASET_DIR:-/tmp/cifar10}"
MAX_STEPS="${MAX_STEPS:-100000}"
BATCH_SIZE="${BATCH_SIZE:-128}"

# The dataset.
ensure_dataset cifar10 "${DATASET_DIR}" https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz "163 MB" \
  cifar10_train.tfrecord cifar10_test.tfrecord

# Run training. (EXTRA_*_FLAGS are split into words on purpose: several flags in one variable.)
# shellcheck disable=SC2086
run_slim train_image_classifier \
  --train_dir="${TRAIN_DIR}" \
  --dataset_name=cifar10 \
  --dataset_split_name=train \
  --dataset_dir="${DATASET_DIR}" \
  --model_name=cifarnet \
  --preprocessing_name=cifarnet \
  --max_number_of_steps="${MAX_STEPS}" \
  --batch_size="${BATCH_SIZE}" \
  --save_interval_secs=120 \
  --save_summaries_secs=120 \
  --log_every_n_steps=100 \
  --optimizer=sgd \
  --learning_rate=0.1 \
  --learning_rate_decay_factor=0.1 \
  --num_epochs_per_decay=200 \
  --weight_decay=0.004 \
  ${EXTRA_TRAIN_FLAGS:-}

# Run evaluation.
# shellcheck disable=SC2086
run_slim eval_image_classifier \
  --checkpoint_path="${TRAIN_DIR}" \
  --eval_dir="${TRAIN_DIR}" \
  --dataset_name=cifar10 \
  --dataset_split_name=test \
  --dataset_dir="${DATASET_DIR}" \
  --model_name=cifarnet \
  ${EXTRA_EVAL_FLAGS:-}

# The curves (TensorBoard: tensorboard --logdir="${TRAIN_DIR}").
plot_curves "${TRAIN_DIR}" "${TRAIN_DIR}/curves.png"
