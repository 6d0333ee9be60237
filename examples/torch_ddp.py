"""Data-parallel training with PyTorch's DistributedDataParallel, over processes that talk through the gloo backend,
with lrn_op either in a plain nn.Module (lrn_op.torch) or as lrn_op's Keras layer under Keras's torch backend.

    python torch_ddp.py RANK WORLD_SIZE PORT OUT.npz [module|keras] [--compile]

Each rank trains on its own part of every global batch; DDP averages the gradients, so every rank ends with the same
weights, which it saves to OUT.npz. With WORLD_SIZE = 1 the script trains on the same global batches in one process.
With --compile, torch.compile compiles the DDP model, and the script prints how many graph breaks TorchDynamo made.
"""
import os
import sys

rank, world_size, port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
kind = sys.argv[5] if len(sys.argv) > 5 else "module"
compiled = "--compile" in sys.argv[6:]
os.environ["KERAS_BACKEND"] = "torch"

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from torch.nn.parallel import DistributedDataParallel  # noqa: E402

import lrn_op.torch  # noqa: E402

GLOBAL_BATCH = 16


class Net(torch.nn.Module):
    """A convolution, lrn_op's LRN in NCHW, pooling and a linear classifier."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(6, 8, 3, padding=1)
        self.head = torch.nn.Linear(8, 3)

    def forward(self, images):
        features = lrn_op.torch.local_response_normalization(self.conv(images), 2, 1.0, 1e-2, 0.75,
                                                             data_format="NCHW")
        return self.head(features.mean(dim=(2, 3)))


def keras_net():
    """The same network from Keras layers, lrn_op's among them: under the torch backend it is an nn.Module."""
    import keras

    import lrn_op

    keras.utils.set_random_seed(3)
    return keras.Sequential([
        keras.Input((8, 8, 6)),
        keras.layers.Conv2D(8, 3, padding="same"),
        lrn_op.LocalResponseNormalization(2, 1.0, 1e-2, 0.75),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(3),
    ])


dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size)
torch.manual_seed(3)
model = DistributedDataParallel(Net() if kind == "module" else keras_net())
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
if compiled:
    model = torch.compile(model)

rng = np.random.default_rng(0)
images = rng.standard_normal((64, 8, 8, 6)).astype(np.float32)
labels = torch.from_numpy(rng.integers(0, 3, 64))
images = torch.from_numpy(images.transpose(0, 3, 1, 2).copy() if kind == "module" else images)
local_batch = GLOBAL_BATCH // world_size
for epoch in range(3):
    for start in range(0, len(images), GLOBAL_BATCH):
        mine = slice(start + rank * local_batch, start + (rank + 1) * local_batch)
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(images[mine]), labels[mine])
        loss.backward()  # DDP averages the gradients over the ranks here
        optimizer.step()

np.savez(out, *[p.detach().numpy() for p in optimizer.param_groups[0]["params"]])
print(f"rank {rank} of {world_size} ({kind}): last loss {loss.item():.4f}")
if compiled:
    from torch._dynamo.utils import counters

    # DDP's own forward is never traced (TorchDynamo skips it), and Keras's layers mutate dicts as they call: those
    # break the graph around the model, not at lrn_op.
    reasons = list(counters["graph_break"])
    at_lrn_op = [reason for reason in reasons if "lrn_op" in reason]
    elsewhere = "; ".join(reason.splitlines()[0] for reason in reasons if reason not in at_lrn_op)
    print(f"graph breaks at lrn_op: {len(at_lrn_op)}; elsewhere: {len(reasons) - len(at_lrn_op)} ({elsewhere})")
# Tear down while the interpreter is whole: wait for every rank, release the DDP model (it holds the group, which
# destroy_process_group alone would leave for the interpreter's finalization), then destroy the group.
dist.barrier()
del model, optimizer
dist.destroy_process_group()
