"""dermprep's tf.data face: dataset transformations for ``Dataset.apply`` and dataset builders.

Transformations (each returns a ``Dataset -> Dataset`` callable)::

    ds = ds.apply(dermprep.tfdata.remove_hair())
    ds = ds.apply(dermprep.tfdata.augment(seed=0, epoch=e))
    ds = records.apply(dermprep.tfdata.balance(seed=0, epoch=e))
    batches = batches.apply(dermprep.tfdata.mix(mixup=0.2, seed=0, epoch=e))

Builders: `from_records()` (image files through
`dermprep.preprocess.Preprocessing`), `from_arrays()` (images in
memory), `epochs()` (one dataset per explicit epoch, chained;
`epoch_lengths()` tells the length of each).

**Elements** (one convention for every operation): an image tensor; a dict
with ``"image"`` and optional ``"mask"`` and ``"label"`` keys; or a tuple
whose components are named by ``layout=``, default ``("image", "label")``
for pairs, e.g. ``layout=("image", "mask", "label")`` or Keras'
``layout=("image", "label", "weight")``. Nothing is guessed from shapes.
Images are (H, W, 3) or batched (N, H, W, 3), uint8 in [0, 255] or float32
in [0, 1] (or [0, 255] with ``value_range=(0, 255)``, as Keras'
``image_dataset_from_directory`` gives, or [-1, 1] with
``value_range=(-1, 1)``); static shapes are kept.

**Randomness** is keyed on ``(seed, element index, epoch)``, never on
hidden state: results do not depend on ``num_parallel_calls``, and the same
epoch is the same on every pass.

Importing this package imports TensorFlow; ``import dermprep`` does not.
"""

from ..runtime import require

require("tensorflow", "dermprep.tfdata (the tf.data face)")

from ._augment import augment  # noqa: E402 - after the check, so a missing TensorFlow says how to install it
from ._balance import Balance, balance  # noqa: E402
from ._elements import DatasetTransform  # noqa: E402
from ._hair import remove_hair  # noqa: E402
from ._mix import mix  # noqa: E402
from ._records import epoch_lengths, epochs, from_arrays, from_records  # noqa: E402

__all__ = ["Balance", "DatasetTransform", "augment", "balance", "epoch_lengths", "epochs", "from_arrays",
           "from_records", "mix", "remove_hair"]
