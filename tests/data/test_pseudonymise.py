"""Pseudonymisation at the door: keyed hashes, birth months, postcode sectors, the lookup."""

from __future__ import annotations

import pandas as pd
import pytest

from riskscreen.data._pseudonymise import (
    birth_month,
    check_key,
    keyed_hash,
    pupil_keys,
    write_identity_lookup,
)
from riskscreen.data._returns_local import normalise_postcode, postcode_sector
from riskscreen.data._returns_spec import upn_check_letter, valid_upn

KEY = b"an authority's secret key"


def test_keyed_hash_is_stable_secret_and_exact_as_a_float():
    values = pd.Series(["upn:A820000000020", "child:SC100001", "upn:A820000000020"])
    a = keyed_hash(values, KEY)
    assert a[0] == a[2] and a[0] != a[1]
    assert (keyed_hash(values, KEY) == a).all()  # the same key: the same ids, every load
    assert not (keyed_hash(values, b"another key, 16+ bytes") == a).any()
    assert (a >= 0).all() and (a < 2**52).all()  # exact through any float conversion
    assert (pd.Series(a).astype("float64").astype("int64").to_numpy() == a).all()


def test_pupil_keys_refuse_a_clash_between_different_children():
    ids = pupil_keys(pd.Series(["upn:X", "child:Y"]), KEY)
    assert ids.is_unique
    with pytest.raises(ValueError, match="at least 16 bytes"):
        check_key("too short")
    with pytest.raises(ValueError, match="int"):
        check_key(12345678901234567890)
    assert check_key("a" * 16) == b"a" * 16


def test_only_the_birth_month_and_the_postcode_sector_are_kept():
    dob = pd.Series(pd.to_datetime(["2014-04-25", "2016-02-29"]))
    assert birth_month(dob).tolist() == [pd.Timestamp("2014-04-01"), pd.Timestamp("2016-02-01")]
    post = pd.Series(["rs1  2ab", "RS12 3CD", None])
    assert normalise_postcode(post).tolist()[:2] == ["RS1 2AB", "RS12 3CD"]
    assert postcode_sector(post).tolist()[:2] == ["RS1 2", "RS12 3"]


def test_upn_check_letters():
    upn = upn_check_letter("820000000020") + "820000000020"
    assert valid_upn(upn)
    assert not valid_upn("B" + upn[1:] if upn[0] != "B" else "C" + upn[1:])
    assert not valid_upn(upn[:-1])
    assert not valid_upn(None)
    temporary = "82000000002A"
    assert valid_upn(upn_check_letter(temporary) + temporary)


def test_identity_lookup_is_written_atomically_and_separately(tmp_path):
    frame = pd.DataFrame({"pupil_id": [1], "upn": ["A820000000020"], "forename": ["Ann"]})
    path = write_identity_lookup(frame, tmp_path / "secure" / "lookup.csv")
    assert pd.read_csv(path).equals(frame)
    assert [p.name for p in path.parent.iterdir()] == ["lookup.csv"]  # no temporary left
