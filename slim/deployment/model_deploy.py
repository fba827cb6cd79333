"""`model_deploy`: TF-Slim's clones and replicas, mapped onto `torch.distributed` (DDP).

TF-Slim                                   | here
----------------------------------------- | --------------------------------------------------------------------
``--num_clones=N`` (towers in one graph)  | N processes on this machine, one DDP rank each (spawned by us)
``--clone_on_cpu``                        | the gloo backend on CPUs (also used when no GPU is present)
clones on GPUs                            | NCCL, one GPU per rank
``--worker_replicas=M --task=i``          | M machines; machine i runs ranks ``i*N .. i*N+N-1``
``--master=host:port``                    | the rendezvous address (``MASTER_ADDR``/``MASTER_PORT``)
``--num_ps_tasks > 0``                    | no DDP equivalent: refused with an explanation
``--sync_replicas``/``replicas_to_aggregate`` | DDP is always synchronous: every step all-reduces all ranks' gradients
launched by ``torchrun``                  | detected from its environment (RANK, WORLD_SIZE, LOCAL_RANK)

Loss semantics follow model_deploy: ``batch_size`` is per clone; each clone's loss is the mean over its own batch
plus the regularization losses, and DDP averages the gradients over clones, which is TF-Slim's "clone loss divided by
the number of clones, regularization added once". The learning-rate schedule counts steps, so (as in TF-Slim) an
"epoch" of the decay schedule is ``num_samples / batch_size`` steps whatever the number of clones.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

logger = logging.getLogger("slim")

__all__ = [
    "DeploymentConfig",
    "deploy",
    "master_address",
    "is_chief",
    "world_size",
    "rank",
    "device_for_rank",
    "barrier",
]


@dataclass(frozen=True)
class DeploymentConfig:
    """How training is spread over processes and machines (TF-Slim's names and checks).

    Attributes:
      num_clones: processes (model replicas) per machine.
      clone_on_cpu: train on CPUs (gloo) even if GPUs are present.
      replica_id: this machine's index (TF-Slim's ``--task``).
      num_replicas: the number of machines (``--worker_replicas``).
      num_ps_tasks: parameter servers; must be 0 (see module docstring).
      worker_job_name, ps_job_name: accepted for TF-Slim compatibility.
      master: ``host:port`` of the rendezvous for several machines ('' on one machine).
    """

    num_clones: int = 1
    clone_on_cpu: bool = False
    replica_id: int = 0
    num_replicas: int = 1
    num_ps_tasks: int = 0
    worker_job_name: str = "worker"
    ps_job_name: str = "ps"
    master: str = ""

    def __post_init__(self) -> None:
        if self.num_clones < 1:
            raise ValueError(f"num_clones must be >= 1, got {self.num_clones}.")
        if self.num_replicas < 1:
            raise ValueError(f"worker_replicas must be >= 1, got {self.num_replicas}.")
        if self.num_ps_tasks > 0:
            raise ValueError(
                f"num_ps_tasks={self.num_ps_tasks}: parameter servers have no equivalent in DDP training, where every "
                "process holds the whole model and gradients are all-reduced. Use --num_ps_tasks=0 with "
                "--num_clones (processes per machine) and --worker_replicas (machines)."
            )
        if self.replica_id >= self.num_replicas:
            raise ValueError(f"replica_id (--task={self.replica_id}) must be < num_replicas ({self.num_replicas}).")
        if self.num_replicas > 1 and not self.master and "MASTER_ADDR" not in os.environ:
            raise ValueError("Several machines (--worker_replicas > 1) need --master=host:port (or torchrun).")
        if self.master:
            master_address(self.master)  # a clear error now for a malformed --master

    @property
    def world_size(self) -> int:
        return self.num_clones * self.num_replicas

    def backend(self) -> str:
        return "gloo" if self.clone_on_cpu or not torch.cuda.is_available() else "nccl"


def master_address(master: str) -> tuple[str, int]:
    """``(host, port)`` of TF-Slim's ``--master`` (``host:port``, optionally ``grpc://``; no host means this one)."""
    host, _, port = master.replace("grpc://", "").rpartition(":")
    if not port.isdigit():
        raise ValueError(f"--master={master} must be host:port (e.g. --master=host0:2222).")
    return host or "127.0.0.1", int(port)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _under_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ and "LOCAL_RANK" in os.environ


def world_size() -> int:
    """The number of training processes (1 without torch.distributed)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    """This process's rank (0 without torch.distributed)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_chief() -> bool:
    """Whether this process writes checkpoints and summaries (rank 0)."""
    return rank() == 0


def barrier() -> None:
    """Waits for all ranks (no-op without torch.distributed)."""
    if world_size() > 1:
        dist.barrier()


def device_for_rank(config: DeploymentConfig, local_rank: int) -> torch.device:
    """CPU for gloo clones; otherwise the GPU of this local rank."""
    if config.backend() == "gloo":
        return torch.device("cpu")
    return torch.device("cuda", local_rank % torch.cuda.device_count())


def _worker(
    local_rank: int,
    config: DeploymentConfig,
    master_addr: str,
    master_port: int,
    fn: Callable,
    args: tuple,
    kwargs: dict,
) -> None:
    global_rank = config.replica_id * config.num_clones + local_rank
    os.environ.update(
        MASTER_ADDR=master_addr,
        MASTER_PORT=str(master_port),
        RANK=str(global_rank),
        WORLD_SIZE=str(config.world_size),
        LOCAL_RANK=str(local_rank),
    )
    dist.init_process_group(config.backend(), rank=global_rank, world_size=config.world_size)
    try:
        if config.backend() == "nccl":
            torch.cuda.set_device(device_for_rank(config, local_rank))
        fn(*args, **kwargs)
    finally:
        dist.destroy_process_group()


def deploy(config: DeploymentConfig, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Runs ``fn(*args, **kwargs)`` on every clone of the deployment.

    - One clone on one machine: runs ``fn`` in this process, without torch.distributed.
    - Under ``torchrun``: initialises the process group from its environment and runs ``fn`` (torchrun started the
      processes).
    - Otherwise: spawns ``num_clones`` processes here, each joining the group (rank ``task * num_clones + i``),
      and waits for them. ``fn`` and its arguments must be picklable (a module-level function).
    """
    if _under_torchrun():
        if config.num_clones != 1 or config.num_replicas != 1 or config.master:
            logger.warning(
                "Started by torchrun: --num_clones, --worker_replicas, --task and --master are ignored; torchrun's "
                "--nproc_per_node, --nnodes, --node_rank and --master_addr/--master_port place the processes."
            )
        if not dist.is_initialized():
            backend = config.backend()
            dist.init_process_group(backend)
            if backend == "nccl":
                torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
        try:
            return fn(*args, **kwargs)
        finally:
            dist.destroy_process_group()
    if config.world_size == 1:
        return fn(*args, **kwargs)
    if config.backend() == "nccl" and config.num_clones > torch.cuda.device_count():
        raise ValueError(
            f"--num_clones={config.num_clones} needs {config.num_clones} GPUs on this machine (one per clone with "
            f"NCCL), but it has {torch.cuda.device_count()}. Use --num_clones={torch.cuda.device_count()}, or "
            "--clone_on_cpu to train CPU clones."
        )
    if config.master:
        master_addr, master_port = master_address(config.master)
    else:
        master_addr, master_port = "127.0.0.1", _free_port()
    torch.multiprocessing.spawn(
        _worker, args=(config, master_addr, master_port, fn, args, kwargs), nprocs=config.num_clones, join=True
    )
    return None
