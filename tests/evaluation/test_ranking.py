import numpy as np
import pandas as pd

from riskscreen.evaluation import rank_at_capacity


def test_overall_capacity_flags_the_highest_scores_and_ties_break_by_key():
    score = np.array([0.2, 0.9, 0.9, 0.1, 0.5])
    key = np.array([5, 4, 3, 2, 1])
    out = rank_at_capacity(score, tiebreak=key, capacity=2)
    # tied 0.9s: the smaller key (3) ranks first
    assert out["rank"].tolist() == [4, 2, 1, 5, 3]
    assert out["flagged"].tolist() == [False, True, True, False, False]
    perm = [4, 2, 0, 3, 1]
    again = rank_at_capacity(score[perm], tiebreak=key[perm], capacity=2)
    assert again["rank"].tolist() == out["rank"].to_numpy()[perm].tolist()


def test_per_school_capacity_flags_within_each_school():
    score = np.arange(10, dtype=float)
    schools = pd.array([1] * 6 + [2] * 2 + [None] * 2, dtype="Int64")
    out = rank_at_capacity(
        score, tiebreak=np.arange(10), capacity=0.5, schools=schools, per_school=True
    )
    assert out["rank_in_school"].tolist() == [6, 5, 4, 3, 2, 1, 2, 1, 2, 1]
    # half of each school (and of the pupils on no roll): 3 + 1 + 1
    assert out["flagged"].tolist() == [False] * 3 + [True] * 3 + [False, True, False, True]
