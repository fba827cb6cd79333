"""kill -9 during training (including during checkpoint writes), then the same command again: training resumes from
the last complete checkpoint and nothing on disk is corrupt."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from slim.framework import checkpoint as ckpt

TRAINER = textwrap.dedent(
    """
    import sys, torch, slim
    train_dir, steps = sys.argv[1], int(sys.argv[2])
    torch.manual_seed(0)
    model = slim.Model(lambda x: slim.fully_connected(slim.fully_connected(x, 256, scope="h"), 1, scope="o",
                                                      activation_fn=None)).build(torch.zeros(1, 64))
    generator = torch.Generator().manual_seed(1)

    def total_loss():
        x = torch.randn(32, 64, generator=generator)
        slim.losses.mean_squared_error(model(x), x[:, :1])
        return slim.losses.get_total_loss()

    train_op = slim.learning.create_train_op(total_loss, torch.optim.Adam(model.parameters(), 1e-3), model=model)
    # Checkpoint at every step, so that a kill often lands inside a checkpoint write.
    slim.learning.train(train_op, train_dir, number_of_steps=steps, save_interval_secs=1e-9, save_summaries_secs=0,
                        log_every_n_steps=0)
    print("finished at", int(train_op.global_step))
    """
)


@pytest.mark.parametrize("delay", [1.5, 2.5])
def test_kill_minus_9_then_resume(tmp_path, delay):
    script = tmp_path / "trainer.py"
    script.write_text(TRAINER)
    train_dir = tmp_path / "train"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, str(script), str(train_dir), "100000"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.time() + 60
    while time.time() < deadline and ckpt.latest_checkpoint(train_dir) is None:
        time.sleep(0.05)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()
    latest = ckpt.latest_checkpoint(train_dir)
    assert latest is not None, process.stderr.read().decode()
    # Every checkpoint file left on disk is complete and readable; no temporary file is taken for one.
    for path in train_dir.glob("*.safetensors"):
        ckpt.read_checkpoint(str(path)[: -len(".safetensors")])
    killed_at = ckpt.read_checkpoint(latest).global_step
    assert killed_at > 0
    # The same command again resumes from there and finishes.
    result = subprocess.run(
        [sys.executable, str(script), str(train_dir), str(killed_at + 5)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert f"finished at {killed_at + 5}" in result.stdout
    assert ckpt.read_checkpoint(ckpt.latest_checkpoint(train_dir)).global_step == killed_at + 5
