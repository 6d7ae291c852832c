"""The out-of-core reduction: pieces whose rows of a run are not contiguous still add up."""

import numpy as np
import pyarrow as pa

from mesa_batch.analysis import _data


class Pieces:
    """Stands in for Results' two table methods the reduction uses: tables and scan."""

    tables = ("runs", "model")

    def __init__(self, *pieces):
        self.pieces = pieces

    def scan(self, table, columns=None):
        for piece in self.pieces:
            yield pa.table(piece).select(["run_id", *columns])


def test_rows_of_a_run_in_two_pieces_and_out_of_order():
    first = {"run_id": [1, 1, 0, 0], "step": [0, 0, 1, 0], "v": [1.0, 3.0, 5.0, 2.0]}
    second = {"run_id": [0, 1], "step": [1, 0], "v": [7.0, None]}
    found = _data.values(Pieces(first, second), "model", "v")
    np.testing.assert_array_equal(found.run_id, [0, 0, 1])
    np.testing.assert_array_equal(found.step, [0, 1, 0])
    np.testing.assert_allclose(found.value, [2.0, 6.0, 2.0])  # means; the null is left out
    last = _data.values(Pieces(first, second), "model", "v", last=True)
    np.testing.assert_array_equal(last.run_id, [0, 1])
    np.testing.assert_allclose(last.value, [6.0, 2.0])
    upto = _data.values(Pieces(first, second), "model", "v", last=True, upto=0)
    np.testing.assert_allclose(upto.value, [2.0, 2.0])
