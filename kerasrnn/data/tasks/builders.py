"""TensorFlow-datasets builders of the NTM tasks, generated locally (no downloads).

Importing this module registers `ntm_copy`, `ntm_repeat_copy`, `ntm_recall`,
`ntm_ngrams` and `ntm_priority_sort` with tfds, each with a `default` config
(10,000 train / 1,000 test examples) and a `tiny` one (8 / 4, for tests):

>>> import tensorflow_datasets as tfds
>>> import kerasrnn.data.tasks.builders  # registers the builders
>>> ds = tfds.load("ntm_copy/tiny", split="train")

Every example is one unpadded sequence: `inputs` `(T, input_dim)`, `targets`
`(T, output_dim)` and `output_mask` `(T,)`, all float32; pad them with
`padded_batch`. Train and test use different seeds.
"""

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from kerasrnn.data.tasks.copy import copy_batch
from kerasrnn.data.tasks.ngrams import ngram_batch
from kerasrnn.data.tasks.priority_sort import priority_sort_batch
from kerasrnn.data.tasks.recall import recall_batch
from kerasrnn.data.tasks.repeat_copy import repeat_copy_batch


@dataclasses.dataclass
class TaskConfig(tfds.core.BuilderConfig):
    train_size: int = 10_000
    test_size: int = 1_000


_CONFIGS = [
    TaskConfig(name="default", description="10,000 train and 1,000 test sequences"),
    TaskConfig(name="tiny", description="8 train and 4 test sequences", train_size=8, test_size=4),
]


class _TaskBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Shared `_info`/`_split_generators`/`_generate_examples` of the task builders."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    BUILDER_CONFIGS = _CONFIGS
    batch_fn = None
    options = {}

    def _info(self):
        probe = type(self).batch_fn(np.random.default_rng(0), 1, **self.options)
        return self.dataset_info_from_configs(
            description=(self.__doc__ or "").strip(),
            features=tfds.features.FeaturesDict(
                {
                    "inputs": tfds.features.Tensor(shape=(None, probe["inputs"].shape[-1]), dtype=np.float32),
                    "targets": tfds.features.Tensor(shape=(None, probe["targets"].shape[-1]), dtype=np.float32),
                    "output_mask": tfds.features.Tensor(shape=(None,), dtype=np.float32),
                }
            ),
            supervised_keys=None,
            homepage="https://arxiv.org/abs/1410.5401",
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # nothing to download
        return {
            "train": self._generate_examples(seed=0, size=self.builder_config.train_size),
            "test": self._generate_examples(seed=1, size=self.builder_config.test_size),
        }

    def _generate_examples(self, seed, size):
        rng = np.random.default_rng(seed)
        for index in range(size):
            batch = type(self).batch_fn(rng, 1, **self.options)
            steps = int(batch["sequence_mask"][0].sum())
            yield index, {
                "inputs": batch["inputs"][0, :steps],
                "targets": batch["targets"][0, :steps],
                "output_mask": batch["output_mask"][0, :steps],
            }


class NtmCopy(_TaskBuilder):
    """NTM copy task: 8-bit vectors, lengths 1-20."""

    batch_fn = staticmethod(copy_batch)
    options = dict(min_length=1, max_length=20, bits=8)


class NtmRepeatCopy(_TaskBuilder):
    """NTM repeat copy: lengths and repeats 1-10, normalised repeat count."""

    batch_fn = staticmethod(repeat_copy_batch)
    options = dict(min_length=1, max_length=10, min_repeats=1, max_repeats=10)


class NtmRecall(_TaskBuilder):
    """NTM associative recall: 2-6 items of 3 x 6 bits."""

    batch_fn = staticmethod(recall_batch)
    options = dict(min_items=2, max_items=6)


class NtmNgrams(_TaskBuilder):
    """NTM dynamic 6-grams: 200 scored bits per sequence."""

    batch_fn = staticmethod(ngram_batch)
    options = dict(length=200, n=6)


class NtmPrioritySort(_TaskBuilder):
    """NTM priority sort: 20 vectors with priorities, top 16 sorted."""

    batch_fn = staticmethod(priority_sort_batch)
    options = dict(num_inputs=20, num_outputs=16)
