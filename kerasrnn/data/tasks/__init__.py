"""The algorithmic tasks of the Neural Turing Machine paper, as seeded generators.

Each task has `<task>_example` (one example), `<task>_batch(rng, batch_size,
...)` (a padded NumPy batch dict, see `kerasrnn.data.tasks._base`) and
`<task>_dataset(batch_size, ..., seed)` (an infinite `tf.data.Dataset`).
TensorFlow-datasets builders are in `kerasrnn.data.tasks.builders`.
"""

from kerasrnn.data.tasks.copy import copy_batch
from kerasrnn.data.tasks.copy import copy_dataset
from kerasrnn.data.tasks.copy import copy_example
from kerasrnn.data.tasks.ngrams import bayes_optimal_bits
from kerasrnn.data.tasks.ngrams import bayes_optimal_probabilities
from kerasrnn.data.tasks.ngrams import ngram_batch
from kerasrnn.data.tasks.ngrams import ngram_dataset
from kerasrnn.data.tasks.ngrams import ngram_example
from kerasrnn.data.tasks.priority_sort import priority_sort_batch
from kerasrnn.data.tasks.priority_sort import priority_sort_dataset
from kerasrnn.data.tasks.priority_sort import priority_sort_example
from kerasrnn.data.tasks.recall import recall_batch
from kerasrnn.data.tasks.recall import recall_dataset
from kerasrnn.data.tasks.recall import recall_example
from kerasrnn.data.tasks.repeat_copy import normalised_repeats
from kerasrnn.data.tasks.repeat_copy import repeat_copy_batch
from kerasrnn.data.tasks.repeat_copy import repeat_copy_dataset
from kerasrnn.data.tasks.repeat_copy import repeat_copy_example

#: Task name -> batch function, for pipelines and builders.
TASKS = {
    "copy": copy_batch,
    "repeat_copy": repeat_copy_batch,
    "recall": recall_batch,
    "ngrams": ngram_batch,
    "priority_sort": priority_sort_batch,
}

__all__ = [
    "TASKS",
    "bayes_optimal_bits",
    "bayes_optimal_probabilities",
    "copy_batch",
    "copy_dataset",
    "copy_example",
    "ngram_batch",
    "ngram_dataset",
    "ngram_example",
    "normalised_repeats",
    "priority_sort_batch",
    "priority_sort_dataset",
    "priority_sort_example",
    "recall_batch",
    "recall_dataset",
    "recall_example",
    "repeat_copy_batch",
    "repeat_copy_dataset",
    "repeat_copy_example",
]
