#!/bin/bash
#
# TF-Slim's scripts/finetune_inception_v3_on_flowers.sh with torch-slim's commands, same flags and values:
# 1. Converts the Flowers dataset to TFRecords (downloads it only when DATASET_DIR does not hold it yet).
# 2. Fine-tunes a new head (InceptionV3/Logits, InceptionV3/AuxLogits) on the pre-trained ImageNet InceptionV3,
#    the other layers restored and frozen; evaluates on the Flowers validation set.
# 3. Fine-tunes all the layers from that result (TRAIN_DIR/all); evaluates again.
#
# Usage:
#   bash recipes/finetune_inception_v3_on_flowers.sh
#
# Environment (TF-Slim's values are the defaults):
#   PRETRAINED_CHECKPOINT_DIR  where inception_v3.ckpt is (/tmp/checkpoints); CHECKPOINT_PATH overrides the file
#   TRAIN_DIR                  checkpoints and event logs (/tmp/flowers-models/inception_v3)
#   DATASET_DIR                the Flowers TFRecords (/tmp/flowers)
#   MODEL_NAME                 the network (inception_v3)
#   CHECKPOINT_EXCLUDE_SCOPES  the new head, not restored (InceptionV3/Logits,InceptionV3/AuxLogits)
#   TRAINABLE_SCOPES           what stage 1 trains (the same scopes)
#   HEAD_STEPS, ALL_STEPS      steps of stage 1 and 2 (1000, 500); MAX_STEPS sets both
#   BATCH_SIZE                 per step (32); IMAGE_SIZE: train and eval image size (the network's default)
#   EXTRA_TRAIN_FLAGS, EXTRA_EVAL_FLAGS  more flags for every train / eval step, e.g. --num_clones=2
#   PYTHON, DOWNLOAD_DATA      see recipes/common.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Where the pre-trained InceptionV3 checkpoint is saved to.
PRETRAINED_CHECKPOINT_DIR="${PRETRAINED_CHECKPOINT_DIR:-/tmp/checkpoints}"
MODEL_NAME="${MODEL_NAME:-inception_v3}"
CHECKPOINT_PATH="${CHECKPOINT_PATH:-${PRETRAINED_CHECKPOINT_DIR}/${MODEL_NAME}.ckpt}"
# Where the training (fine-tuned) checkpoint and logs will be saved to.
TRAIN_DIR="${TRAIN_DIR:-/tmp/flowers-models/${MODEL_NAME}}"
# Where the dataset is saved to.
DATASET_DIR="${DATASET_DIR:-/tmp/flowers}"
CHECKPOINT_EXCLUDE_SCOPES="${CHECKPOINT_EXCLUDE_SCOPES:-InceptionV3/Logits,InceptionV3/AuxLogits}"
TRAINABLE_SCOPES="${TRAINABLE_SCOPES:-${CHECKPOINT_EXCLUDE_SCOPES}}"
HEAD_STEPS="${HEAD_STEPS:-${MAX_STEPS:-1000}}"
ALL_STEPS="${ALL_STEPS:-${MAX_STEPS:-500}}"
BATCH_SIZE="${BATCH_SIZE:-32}"
IMAGE_SIZE="${IMAGE_SIZE:-}"

# The pre-trained checkpoint (never downloaded here: the message says from where).
require_checkpoint "${CHECKPOINT_PATH}" "${TF_MODELS_URL}/inception_v3_2016_08_28.tar.gz" inception_v3.ckpt

# The dataset.
ensure_dataset flowers "${DATASET_DIR}" http://download.tensorflow.org/example_images/flower_photos.tgz "218 MB" \
  "flowers_train_*.tfrecord" "flowers_validation_*.tfrecord"

# Fine-tune only the new layers for 1000 steps.
flowers_train \
  --train_dir="${TRAIN_DIR}" \
  --checkpoint_path="${CHECKPOINT_PATH}" \
  --checkpoint_exclude_scopes="${CHECKPOINT_EXCLUDE_SCOPES}" \
  --trainable_scopes="${TRAINABLE_SCOPES}" \
  --max_number_of_steps="${HEAD_STEPS}" \
  --learning_rate=0.01 \
  --learning_rate_decay_type=fixed \
  --log_every_n_steps=100

# Run evaluation.
flowers_evaluate "${TRAIN_DIR}"

# Fine-tune all the layers for 500 steps.
flowers_train \
  --train_dir="${TRAIN_DIR}/all" \
  --checkpoint_path="${TRAIN_DIR}" \
  --max_number_of_steps="${ALL_STEPS}" \
  --learning_rate=0.0001 \
  --learning_rate_decay_type=fixed \
  --log_every_n_steps=10

# Run evaluation.
flowers_evaluate "${TRAIN_DIR}/all"

# The curves of both stages (TensorBoard: tensorboard --logdir="${TRAIN_DIR}").
plot_curves "${TRAIN_DIR}" "${TRAIN_DIR}/curves.png"
