"""Synthetic linked histories calibrated to published English rates.

:func:`make_linked_histories` simulates the children of one English local
authority week by week: pupils age through Reception to Y11, move between
schools, in and out of the authority, into elective home education (EHE) and
out of sight as children missing education (CME); a latent need level drives
absence, behaviour, suspensions and permanent exclusions, and social-care
journeys (referral, assessment, child-in-need and child-protection plans,
looked-after placements). Schools record behaviour with their own culture and
offer help to the pupils they judge at risk. With ``return_truth=True`` the
generator also returns a :class:`SyntheticTruth`: the latent weekly risk, every
latent incident and the true intervention effect, so models, fairness audits
and effect estimates can be checked against a known truth.

:func:`calibration_report` compares any :class:`~riskscreen.data.LinkedHistories`
(synthetic or loaded) with the published figures the generator was tuned to;
each target cites the DfE publication it comes from.
"""

from riskscreen.datasets._calibration import calibration_report
from riskscreen.datasets._synthetic import make_linked_histories
from riskscreen.datasets._truth import SyntheticTruth

__all__ = ["SyntheticTruth", "calibration_report", "make_linked_histories"]
