"""The flags of train_image_classifier: TF-Slim's (same names, defaults, types and meaning) plus a few options
beyond TF-Slim, off by default where they change numerics."""

from slim.scripts.flagspec import Flag
from slim.scripts.input_flags import PREPROCESSING_FLAGS

TRAIN_FLAGS = (
    # General.
    Flag(
        "master",
        "",
        "string",
        "The address of the TensorFlow master to use (the torch.distributed rendezvous "
        "host:port for several machines).",
    ),
    Flag("train_dir", "/tmp/tfmodel/", "string", "Directory where checkpoints and event logs are written to."),
    Flag(
        "warmup_epochs",
        0.0,
        "float",
        "Linearly warm-up learning rate to the target learning rate over this many epochs.",
    ),
    Flag(
        "num_clones",
        1,
        "integer",
        "Number of model clones to deploy (DDP processes on this machine). Note For "
        "historical reasons loss from all clones averaged out and learning rate decay happen per clone epochs",
    ),
    Flag("clone_on_cpu", False, "boolean", "Use CPUs to deploy clones."),
    Flag("worker_replicas", 1, "integer", "Number of worker replicas (machines)."),
    Flag(
        "num_ps_tasks",
        0,
        "integer",
        "The number of parameter servers. If the value is 0, then the parameters are "
        "handled locally by the worker (the only mode DDP has).",
    ),
    Flag("num_readers", 4, "integer", "The number of parallel readers that read data from the dataset."),
    *PREPROCESSING_FLAGS,
    Flag("log_every_n_steps", 10, "integer", "The frequency with which logs are print."),
    Flag("save_summaries_secs", 600, "integer", "The frequency with which summaries are saved, in seconds."),
    Flag("save_interval_secs", 600, "integer", "The frequency with which the model is saved, in seconds."),
    Flag("task", 0, "integer", "Task id of the replica running the training (the machine's index)."),
    # Optimization.
    Flag("weight_decay", 0.00004, "float", "The weight decay on the model weights."),
    Flag(
        "optimizer",
        "rmsprop",
        "string",
        'The name of the optimizer, one of "adadelta", "adagrad", "adam","ftrl", "momentum", "sgd" or "rmsprop".',
    ),
    Flag("adadelta_rho", 0.95, "float", "The decay rate for adadelta."),
    Flag("adagrad_initial_accumulator_value", 0.1, "float", "Starting value for the AdaGrad accumulators."),
    Flag("adam_beta1", 0.9, "float", "The exponential decay rate for the 1st moment estimates."),
    Flag("adam_beta2", 0.999, "float", "The exponential decay rate for the 2nd moment estimates."),
    Flag("opt_epsilon", 1.0, "float", "Epsilon term for the optimizer."),
    Flag("ftrl_learning_rate_power", -0.5, "float", "The learning rate power."),
    Flag("ftrl_initial_accumulator_value", 0.1, "float", "Starting value for the FTRL accumulators."),
    Flag("ftrl_l1", 0.0, "float", "The FTRL l1 regularization strength."),
    Flag("ftrl_l2", 0.0, "float", "The FTRL l2 regularization strength."),
    Flag("momentum", 0.9, "float", "The momentum for the MomentumOptimizer and RMSPropOptimizer."),
    Flag("rmsprop_momentum", 0.9, "float", "Momentum."),
    Flag("rmsprop_decay", 0.9, "float", "Decay term for RMSProp."),
    Flag(
        "quantize_delay",
        -1,
        "integer",
        "Number of steps to start quantized training. Set to -1 would disable quantized training.",
    ),
    # Learning rate.
    Flag(
        "learning_rate_decay_type",
        "exponential",
        "string",
        'Specifies how the learning rate is decayed. One of "fixed", "exponential", or "polynomial"',
    ),
    Flag("learning_rate", 0.01, "float", "Initial learning rate."),
    Flag(
        "end_learning_rate", 0.0001, "float", "The minimal end learning rate used by a polynomial decay learning rate."
    ),
    Flag("label_smoothing", 0.0, "float", "The amount of label smoothing."),
    Flag("learning_rate_decay_factor", 0.94, "float", "Learning rate decay factor."),
    Flag(
        "num_epochs_per_decay",
        2.0,
        "float",
        "Number of epochs after which learning rate decays. Note: this flag "
        "counts epochs per clone but aggregates per sync replicas. So 1.0 means that each clone will go over full "
        "epoch individually, but replicas will go once across all replicas.",
    ),
    Flag(
        "sync_replicas",
        False,
        "boolean",
        "Whether or not to synchronize the replicas during training (DDP always does).",
    ),
    Flag("replicas_to_aggregate", 1, "integer", "The Number of gradients to collect before updating params."),
    Flag(
        "moving_average_decay",
        None,
        "float",
        "The decay to use for the moving average.If left as None, then moving averages are not used.",
    ),
    # Dataset.
    Flag("dataset_name", "imagenet", "string", "The name of the dataset to load."),
    Flag("dataset_split_name", "train", "string", "The name of the train/test split."),
    Flag("dataset_dir", None, "string", "The directory where the dataset files are stored."),
    Flag(
        "labels_offset",
        0,
        "integer",
        "An offset for the labels in the dataset. This flag is primarily used to "
        "evaluate the VGG and ResNet architectures which do not use a background class for the ImageNet dataset.",
    ),
    Flag("model_name", "inception_v3", "string", "The name of the architecture to train."),
    Flag(
        "preprocessing_name",
        None,
        "string",
        "The name of the preprocessing to use. If left as `None`, then the model_name flag is used.",
    ),
    Flag("batch_size", 32, "integer", "The number of samples in each batch (per clone)."),
    Flag("train_image_size", None, "integer", "Train image size"),
    Flag("max_number_of_steps", None, "integer", "The maximum number of training steps."),
    Flag("use_grayscale", False, "boolean", "Whether to convert input images to grayscale."),
    # Fine-tuning.
    Flag(
        "checkpoint_path",
        None,
        "string",
        "The path to a checkpoint from which to fine-tune (a file prefix or a directory; TF-Slim's format or ours).",
    ),
    Flag(
        "checkpoint_exclude_scopes",
        None,
        "string",
        "Comma-separated list of scopes of variables to exclude when restoring from a checkpoint.",
    ),
    Flag(
        "trainable_scopes",
        None,
        "string",
        "Comma-separated list of scopes to filter the set of variables to "
        "train.By default, None would train all the variables.",
    ),
    Flag("ignore_missing_vars", False, "boolean", "When restoring a checkpoint would ignore missing variables."),
    # Beyond TF-Slim (PyTorch options).
    Flag(
        "mixed_precision",
        "",
        "string",
        "Autocast the forward pass to 'bfloat16' or 'float16' ('' = off: TF-Slim's float32 numerics).",
    ),
    Flag(
        "channels_last",
        False,
        "boolean",
        "Use the channels_last memory format (faster convolutions on many CPUs and GPUs; same numerics).",
    ),
    Flag("compile", False, "boolean", "Run the model under torch.compile."),
    Flag("seed", 0, "integer", "Random seed for initialisation, data order and augmentation."),
    Flag(
        "clip_gradient_norm",
        0.0,
        "float",
        "If > 0, clip each gradient to this norm (TF-Slim's create_train_op option).",
    ),
    Flag("max_checkpoints_to_keep", 5, "integer", "How many recent checkpoints to keep in train_dir."),
)
