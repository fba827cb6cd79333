#!/bin/bash
# TF-Slim's scripts/export_mobilenet.sh with torch-slim's commands: prepares a MobileNet v1 for deployment.
#
# It comes in four width multipliers (1.0, 0.75, 0.50, 0.25: parameters and file size) and four input sizes (224, 192,
# 160, 128 pixels: computation and latency); see docs for the published checkpoints. Steps:
# 1. export_inference_graph writes the network (ONNX + torch.export program) to MODEL_FOLDER/unfrozen_graph.onnx;
# 2. freeze_graph merges the checkpoint's weights into MODEL_FOLDER/frozen_graph.onnx (and checks it against PyTorch);
# 3. label_image classifies IMAGE with the frozen graph, if IMAGE is set.
# TF's transform_graph weight quantization (quantized_graph.pb) has no counterpart here.
#
# Usage:
#   bash recipes/export_mobilenet.sh <mobilenet version> <input size> [checkpoint path]
#   bash recipes/export_mobilenet.sh 0.50 160
#
# Unlike TF-Slim's script, a missing checkpoint is not downloaded: the message says from where to get it.
#
# Environment:
#   PRETRAINED_CHECKPOINT_DIR  where mobilenet_v1_<version>_<size>.ckpt is looked for without a checkpoint argument
#                              (/tmp/checkpoints)
#   MODEL_FOLDER               the output folder (/tmp/mobilenet_v1_<version>_<size>; must not exist yet)
#   IMAGE                      an image to classify at the end (TF-Slim used TF's grace_hopper.jpg); LABELS: its
#                              labels file (default MODEL_FOLDER/labels.txt if present)
#   PYTHON                     see recipes/common.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

print_usage() {
  echo "Creates a frozen mobilenet model suitable for mobile use"
  echo "Usage:"
  echo "$0 <mobilenet version> <input size> [checkpoint path]"
}

MOBILENET_VERSION="${1:-}"
IMAGE_SIZE="${2:-}"
CHECKPOINT="${3:-}"

if [[ "${MOBILENET_VERSION}" = "1.0" ]]; then
  SLIM_NAME=mobilenet_v1
elif [[ "${MOBILENET_VERSION}" = "0.75" ]]; then
  SLIM_NAME=mobilenet_v1_075
elif [[ "${MOBILENET_VERSION}" = "0.50" ]]; then
  SLIM_NAME=mobilenet_v1_050
elif [[ "${MOBILENET_VERSION}" = "0.25" ]]; then
  SLIM_NAME=mobilenet_v1_025
else
  echo "Bad mobilenet version, should be one of 1.0, 0.75, 0.50, or 0.25" >&2
  print_usage >&2
  exit 1
fi

if [[ "${IMAGE_SIZE}" != "224" && "${IMAGE_SIZE}" != "192" && "${IMAGE_SIZE}" != "160" && "${IMAGE_SIZE}" != "128" ]]
then
  echo "Bad input image size, should be one of 224, 192, 160, or 128" >&2
  print_usage >&2
  exit 1
fi

PRETRAINED_CHECKPOINT_DIR="${PRETRAINED_CHECKPOINT_DIR:-/tmp/checkpoints}"
MODEL_FOLDER="${MODEL_FOLDER:-/tmp/mobilenet_v1_${MOBILENET_VERSION}_${IMAGE_SIZE}}"
CHECKPOINT_NAME="mobilenet_v1_${MOBILENET_VERSION}_${IMAGE_SIZE}.ckpt"
CHECKPOINT_URL="${TF_MODELS_URL}/mobilenet_v1_${MOBILENET_VERSION}_${IMAGE_SIZE}_2017_06_14.tar.gz"

# The checkpoint: the argument, else the published one in PRETRAINED_CHECKPOINT_DIR (never downloaded here).
if [[ -z "${CHECKPOINT}" ]]; then
  CHECKPOINT="${PRETRAINED_CHECKPOINT_DIR}/${CHECKPOINT_NAME}"
  require_checkpoint "${CHECKPOINT}" "${CHECKPOINT_URL}" "${CHECKPOINT_NAME}" \
    "or set PRETRAINED_CHECKPOINT_DIR to where you keep it, or pass the checkpoint as the third argument."
elif ! checkpoint_exists "${CHECKPOINT}" && [[ ! -d "${CHECKPOINT}" ]]; then
  die "the checkpoint ${CHECKPOINT} is missing (looked for ${CHECKPOINT}, ${CHECKPOINT}.index and \
${CHECKPOINT}.safetensors). The published one is ${CHECKPOINT_URL}."
fi

if [[ -d "${MODEL_FOLDER}" ]]; then
  echo "Model folder ${MODEL_FOLDER} already exists!" >&2
  echo "If you want to overwrite it, then 'rm -rf ${MODEL_FOLDER}' first." >&2
  print_usage >&2
  exit 1
fi
if [[ "${DRY_RUN}" != 1 ]]; then
  mkdir -p "${MODEL_FOLDER}"
fi

log "Exporting graph architecture to ${MODEL_FOLDER}/unfrozen_graph.onnx"
run_slim export_inference_graph \
  --model_name="${SLIM_NAME}" \
  --image_size="${IMAGE_SIZE}" \
  --output_file="${MODEL_FOLDER}/unfrozen_graph.onnx" \
  --dataset_dir="${MODEL_FOLDER}"

log "Freezing graph to ${MODEL_FOLDER}/frozen_graph.onnx"
run_slim freeze_graph \
  --input_graph="${MODEL_FOLDER}/unfrozen_graph.onnx" \
  --input_checkpoint="${CHECKPOINT}" \
  --input_binary=true \
  --output_graph="${MODEL_FOLDER}/frozen_graph.onnx" \
  --output_node_names=MobilenetV1/Predictions/Reshape_1

if [[ -n "${IMAGE:-}" ]]; then
  LABELS="${LABELS:-${MODEL_FOLDER}/labels.txt}"
  label_flags=()
  if [[ -f "${LABELS}" ]]; then
    label_flags=(--labels="${LABELS}")
  fi
  log "Running label_image using the graph"
  # MobileNet takes pixels scaled to [-1, 1]: (pixel - 127.5) / 127.5. (TF-Slim's script passed --input_mean=-127,
  # a sign slip.)
  run_slim label_image \
    --input_layer=input \
    --output_layer=MobilenetV1/Predictions/Reshape_1 \
    --graph="${MODEL_FOLDER}/frozen_graph.onnx" \
    --input_mean=127.5 \
    --input_std=127.5 \
    --image="${IMAGE}" \
    --input_width="${IMAGE_SIZE}" \
    --input_height="${IMAGE_SIZE}" \
    "${label_flags[@]}"
else
  log "Set IMAGE=/path/to/image.jpg to classify an image with the frozen graph (label_image)."
fi

log "Saved graphs to ${MODEL_FOLDER}/unfrozen_graph.onnx and ${MODEL_FOLDER}/frozen_graph.onnx"
