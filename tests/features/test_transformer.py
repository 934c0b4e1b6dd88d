from __future__ import annotations

import pandas as pd
import pytest
from _feature_histories import AS_OF, histories, on_roll, pupil
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from riskscreen.features import Feature, FeatureBuilder, FeatureSpec, build_features


def _h():
    return histories(
        pupils=[pupil(i) for i in (1, 2, 3)],
        enrolments=[on_roll(1), on_roll(2), on_roll(3)],
        exclusions=[
            {"pupil_id": 1, "start_date": "2021-06-01", "sessions": 2.0},
            {"pupil_id": 2, "start_date": "2021-06-01", "sessions": 6.0},
            {"pupil_id": 2, "start_date": "2021-12-01", "sessions": 10.0},
        ],
    )


SPEC = FeatureSpec(
    (
        Feature("n", "exclusions", "count", "1Y"),
        Feature("mean_sessions", "exclusions", "mean", "1Y", column="sessions", impute="median"),
    )
)


def test_fit_learns_medians_and_transform_uses_them():
    h = _h()
    fb = FeatureBuilder(SPEC).fit(h, ["2021-09-01"])  # only pupils 1, 2: means 2 and 6
    assert fb.medians_ == {"mean_sessions": 4.0}
    X = fb.transform(h, [AS_OF])
    assert X["mean_sessions"].tolist() == [2.0, 8.0, 4.0]
    assert X["mean_sessions__missing"].tolist() == [0.0, 0.0, 1.0]
    assert list(fb.get_feature_names_out()) == ["n", "mean_sessions", "mean_sessions__missing"]
    # the functional API uses this call's own median
    assert build_features(h, [AS_OF], SPEC)["mean_sessions"].tolist() == [2.0, 8.0, 5.0]
    pd.testing.assert_frame_equal(fb.fit_transform(h, [AS_OF]), build_features(h, [AS_OF], SPEC))


def test_estimator_contract():
    fb = FeatureBuilder(spec=SPEC, use_protected=("sex",))
    assert clone(fb).get_params()["use_protected"] == ("sex",)
    with pytest.raises(NotFittedError):
        fb.transform(_h(), [AS_OF])
    with pytest.raises(ValueError, match="'spec' parameter of FeatureBuilder"):
        FeatureBuilder(spec="default").fit(_h())
    with pytest.raises(ValueError, match="needs 'as_of_dates'"):
        FeatureBuilder(SPEC).fit(_h())
    fitted = FeatureBuilder().fit(_h())
    assert "suspension_count_1y" in fitted.get_feature_names_out()
