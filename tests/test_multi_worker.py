"""examples/tf_multi_worker.py run as its docstring says: two workers on 127.0.0.1, each with its own TF_CONFIG.
They must end with identical weights, equal to one process that trains on the same global batches."""
import json

from processes import assert_ranks_agree_with_one_process, example, free_ports, run_group


def test_two_workers_train_like_one_process(tmp_path):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    run_group([example("tf_multi_worker.py", tmp_path / f"worker{index}.npz",
                       env={"TF_CPP_MIN_LOG_LEVEL": "2",
                            "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})})
               for index in range(2)], 600)
    run_group([example("tf_multi_worker.py", tmp_path / "single.npz", env={"TF_CPP_MIN_LOG_LEVEL": "2"})], 600)
    # Four arrays: the convolution's and the dense layer's kernel and bias.
    assert_ranks_agree_with_one_process([tmp_path / "worker0.npz", tmp_path / "worker1.npz"],
                                        tmp_path / "single.npz", 4)
