"""Weighted reciprocal rank fusion."""

from qa.retrieve import fuse


def test_rrf_rewards_agreement():
    fused = fuse([[1, 2, 3], [3, 1, 4]], [1.0, 1.0], k=60)
    order = [i for i, _ in fused]
    assert order[0] == 1  # ranked 1st and 2nd beats 3rd and 1st
    assert set(order) == {1, 2, 3, 4}
    assert abs(dict(fused)[1] - (1 / 61 + 1 / 62)) < 1e-12


def test_weights_shift_the_balance():
    dense_heavy = [i for i, _ in fuse([[1, 2], [2, 1]], [2.0, 1.0], k=60)]
    lexical_heavy = [i for i, _ in fuse([[1, 2], [2, 1]], [1.0, 2.0], k=60)]
    assert dense_heavy[0] == 1 and lexical_heavy[0] == 2


def test_empty_rankings():
    assert fuse([[], []], [1.0, 1.0]) == []
