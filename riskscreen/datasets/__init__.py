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

:func:`write_returns` writes a synthetic authority in the shapes of the returns a
real one holds (school census extracts, the CIN census XML, the SSDA903, case
records and local registers) with made-up identities and realistic identity
noise, and returns a :class:`ReturnsTruth` saying whose each record is, so
:func:`riskscreen.data.read_returns` and its linkage can be tested end to end.
"""

from riskscreen.datasets._calibration import calibration_report
from riskscreen.datasets._learners import make_learner_histories
from riskscreen.datasets._returns_truth import ReturnsTruth
from riskscreen.datasets._returns_writer import write_returns
from riskscreen.datasets._synthetic import make_linked_histories
from riskscreen.datasets._truth import SyntheticTruth

__all__ = [
    "ReturnsTruth",
    "SyntheticTruth",
    "calibration_report",
    "make_learner_histories",
    "make_linked_histories",
    "write_returns",
]
