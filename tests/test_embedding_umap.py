"""UMAP layouts (the optional 'umap' extra, umap-learn): aligned consecutive steps
move less than unaligned ones, and the projection's k-NN accuracy is
scikit-learn's on the served coordinates. About a minute here (umap-learn's
import and numba compilation), so umap-learn is not in the test extra: the
test runs where it is installed."""

import pytest

pytest.importorskip("umap", reason="umap-learn is the optional 'umap' extra")

from test_embedding import nonlinear_layouts_check  # noqa: E402


def test_umap_layouts_move_less_when_aligned_and_their_knn_is_scikit_learns():
    nonlinear_layouts_check("umap")
