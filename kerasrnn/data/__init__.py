"""tf.data transforms and generators for kerasrnn's pipelines.

Submodules are imported on demand (they need TensorFlow, the layers do not):

* `kerasrnn.data.text`: character vocabulary, encoding, train/validation
  split held out from the end, windows and next-character targets;
* `kerasrnn.data.tasks`: generated algorithmic tasks.
"""
