# shellcheck shell=bash
# Shared by the recipes (sourced, not run): which Python runs slim's commands, and the checks that stop a recipe with
# a clear message before its long steps (a missing pre-trained checkpoint, a missing dataset) instead of failing
# half-way or downloading into a failure.
#
# Environment:
#   PYTHON         the interpreter that has torch-slim's dependencies (default: python, else python3). The repository
#                  is put on PYTHONPATH, so a clone works without `pip install -e .`.
#   DOWNLOAD_DATA  1 (default): download and convert a missing dataset with download_and_convert_data, saying what
#                  is downloaded from where first; 0: stop with the command to run instead (offline machines, tests).
#   DRY_RUN        1: print slim's commands without running them (the checkpoint and data checks still run).

RECIPES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(dirname "${RECIPES_DIR}")"
export PYTHONPATH="${REPO_ROOT}${PYTHONPATH:+:${PYTHONPATH}}"
PYTHON="${PYTHON:-$(command -v python || command -v python3 || echo python3)}"
DOWNLOAD_DATA="${DOWNLOAD_DATA:-1}"
DRY_RUN="${DRY_RUN:-0}"

# Where TF-Slim's published checkpoints are downloaded from.
TF_MODELS_URL="http://download.tensorflow.org/models"

log() {
  echo "[$(basename "$0")] $*"
}

die() {
  echo "[$(basename "$0")] error: $*" >&2
  exit 1
}

# run_slim SCRIPT FLAGS...: python -m slim.scripts.SCRIPT FLAGS..., echoed first so that the log shows each step.
run_slim() {
  local script=$1
  shift
  log "python -m slim.scripts.${script} $*"
  if [[ "${DRY_RUN}" != 1 ]]; then
    "${PYTHON}" -m "slim.scripts.${script}" "$@"
  fi
}

# checkpoint_exists PREFIX: a TF-Slim V1 file (inception_v3.ckpt), a TF V2 prefix (.index) or one of ours
# (.safetensors).
checkpoint_exists() {
  [[ -f "$1" || -f "$1.index" || -f "$1.safetensors" ]]
}

# require_checkpoint PATH URL [MEMBER [HINT]]: returns if the checkpoint PATH exists; otherwise says what is missing,
# where to download it (URL, a tarball holding MEMBER, default the file name of PATH), how to unpack it and HINT (how
# else to point the recipe at it), and exits 1.
# Checkpoints are never downloaded here: they are large, and a recipe should not fail half-way through a download.
require_checkpoint() {
  local path=$1 url=$2 member=${3:-}
  local hint=${4:-"or set PRETRAINED_CHECKPOINT_DIR (or CHECKPOINT_PATH) to where you keep it."}
  checkpoint_exists "${path}" && return 0
  local dir name tarball
  dir="$(dirname "${path}")"
  name="$(basename "${path}")"
  member="${member:-${name}}"
  tarball="${url##*/}"
  {
    echo "[$(basename "$0")] error: the pre-trained checkpoint ${path} is missing"
    echo "  (looked for ${path}, ${path}.index and ${path}.safetensors)."
    echo "  It is TF-Slim's published checkpoint ${tarball}, from ${url}"
    echo "  Download and unpack it with:"
    echo "    mkdir -p ${dir} && cd ${dir}"
    echo "    wget ${url}"
    echo "    tar -xzf ${tarball} && rm ${tarball}"
    if [[ "${member}" != "${name}" ]]; then
      echo "    mv ${member} ${name}"
    fi
    echo "  ${hint}"
  } >&2
  exit 1
}

# ensure_dataset NAME DIR URL SIZE PATTERN...: returns if DIR holds files matching every PATTERN (the converted
# TFRecords of each split the recipe reads); otherwise runs download_and_convert_data for NAME (saying what it
# downloads from where first), or with DOWNLOAD_DATA=0 exits 1 with the command to run.
ensure_dataset() {
  local name=$1 dir=$2 url=$3 size=$4
  shift 4
  local pattern missing=()
  for pattern in "$@"; do
    compgen -G "${dir}/${pattern}" >/dev/null || missing+=("${pattern}")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    log "Using the ${name} TFRecords in ${dir}."
    return 0
  fi
  local command="python -m slim.scripts.download_and_convert_data --dataset_name=${name} --dataset_dir=${dir}"
  if [[ "${DOWNLOAD_DATA}" != 1 ]]; then
    local joined
    joined="$(printf '%s, ' "${missing[@]}")"
    {
      echo "[$(basename "$0")] error: the ${name} dataset is missing: no ${joined%, } in ${dir}."
      echo "  Download (${url}, ${size}) and convert it with:"
      echo "    ${command}"
      echo "  or set DATASET_DIR to the folder that holds its TFRecords (DOWNLOAD_DATA=0 forbids downloading here)."
    } >&2
    exit 1
  fi
  log "The ${name} dataset is not in ${dir}: downloading ${url} (${size}) and converting it to TFRecords."
  if ! run_slim download_and_convert_data --dataset_name="${name}" --dataset_dir="${dir}"; then
    die "downloading or converting ${name} failed (see above). Fetch ${url} where you have the network, or set \
DATASET_DIR to converted TFRecords, then run this recipe again."
  fi
}

# plot_curves LOGDIR OUTPUT: the loss / learning-rate / accuracy curves as a PNG, when matplotlib is installed.
plot_curves() {
  if [[ "${DRY_RUN}" = 1 ]] || "${PYTHON}" -c "import matplotlib" 2>/dev/null; then
    run_slim plot_curves --logdir="$1" --output="$2"
  else
    log "Skipping the curves PNG: matplotlib is not installed (pip install 'torch-slim[plot]')."
  fi
}

# The two steps of the flowers fine-tuning recipes (TF-Slim's flags shared by all four). They read DATASET_DIR,
# MODEL_NAME, BATCH_SIZE and IMAGE_SIZE; flowers_train takes the stage's own flags, flowers_evaluate a train_dir.
# EXTRA_*_FLAGS are split into words on purpose (several flags in one variable).
# shellcheck disable=SC2086
flowers_train() {
  run_slim train_image_classifier \
    --dataset_name=flowers \
    --dataset_split_name=train \
    --dataset_dir="${DATASET_DIR}" \
    --model_name="${MODEL_NAME}" \
    --batch_size="${BATCH_SIZE}" \
    ${IMAGE_SIZE:+--train_image_size=${IMAGE_SIZE}} \
    --save_interval_secs=60 \
    --save_summaries_secs=60 \
    --optimizer=rmsprop \
    --weight_decay=0.00004 \
    "$@" ${EXTRA_TRAIN_FLAGS:-}
}

# shellcheck disable=SC2086
flowers_evaluate() {
  run_slim eval_image_classifier \
    --checkpoint_path="$1" \
    --eval_dir="$1" \
    --dataset_name=flowers \
    --dataset_split_name=validation \
    --dataset_dir="${DATASET_DIR}" \
    --model_name="${MODEL_NAME}" \
    ${IMAGE_SIZE:+--eval_image_size=${IMAGE_SIZE}} \
    ${EXTRA_EVAL_FLAGS:-}
}
