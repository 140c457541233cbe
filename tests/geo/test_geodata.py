"""The committed geography tables, and the upstream data bugs they fix (issue 3)."""

import numpy as np
import pandas as pd
import pytest

from delphi_signals.errors import InputError
from delphi_signals.geo import crosswalk, geo_values, geodata_dir, population


def links(from_type, to_type):
    return crosswalk(from_type, to_type).to_frame()


@pytest.mark.parametrize("code, state, hhs", [("70002", "ma", "1"), ("70003", "mo", "7")])
def test_pseudo_counties_are_in_their_state_not_palau(code, state, hhs):
    assert links("county", "state").query(f"county == '{code}'")["state"].tolist() == [state]
    assert links("county", "hhs").query(f"county == '{code}'")["hhs"].tolist() == [hhs]
    in_palau = links("county", "state").query("state == 'pw'")["county"].tolist()
    assert in_palau == ["70000"]  # only Palau's own megacounty


def test_pseudo_counties_split_over_member_counties_for_hrr_and_msa():
    hrr = links("county", "hrr")
    kc = hrr[hrr["county"] == "70003"]
    assert kc["weight"].sum() == pytest.approx(1.0, abs=1e-4)  # upstream fips_hrr sums to 0.99999 there
    assert set(kc["hrr"]) >= set(hrr[hrr["county"] == "29095"]["hrr"])  # Jackson County's HRR
    msa = links("county", "msa")
    assert msa[msa["county"] == "70003"][["msa", "weight"]].values.tolist() == [["28140", 1.0]]


def test_nation_population_counts_each_person_once():
    counties = pd.read_csv(geodata_dir() / "counties.csv", dtype={"county": str})
    real = counties[counties["kind"] == "county"]
    nation = int(population("nation").sel(geo="us"))
    assert nation == int(real["population"].sum())
    # upstream's nation_pop (334,103,109) added 70002 + 70003 (520,755) on top of their member counties
    assert nation == 334_103_109 - 28_837 - 491_918
    assert np.isnan(population("state").sel(geo="pw"))
    assert int(population("state").sel(geo="ma")) == int(real[real["state_id"] == "ma"]["population"].sum())


def test_state_populations_add_up_to_hhs_and_nation():
    states = population("state").to_series().dropna()
    assert states.sum() == population("nation").item()
    assert population("hhs").sum().item() == population("nation").item()


@pytest.mark.parametrize("code", ["46113", "46102", "02270", "02158", "02261", "02063", "02066", "51515", "51019"])
@pytest.mark.parametrize("level", ["state", "hhs", "nation", "hrr"])
def test_old_and_new_county_codes_map_everywhere(code, level):
    weights = links("county", level).query(f"county == '{code}'")["weight"]
    assert weights.sum() == pytest.approx(1.0, abs=1e-9), f"{code} -> {level} drops counts"


def test_retired_codes_share_their_successors_population():
    pop = population("county")
    assert pop.sel(geo="02261").item() == pop.sel(geo="02063").item() + pop.sel(geo="02066").item()
    assert pop.sel(geo="46113").item() == pop.sel(geo="46102").item() == 14070


def test_zip_to_county_uses_current_codes_and_keeps_all_weight():
    zc = links("zip", "county")
    assert not set(zc["county"]) & {"46113", "02270", "02261", "51515"}
    assert {"46102", "02158", "02063", "02066"} <= set(zc["county"])
    per_zip = zc.groupby("zip")["weight"].sum()
    assert np.allclose(per_zip, 1.0, atol=1e-9)


def test_megacounties_have_no_population_but_map_to_their_state():
    assert np.isnan(population("county").sel(geo="06000"))
    assert links("county", "state").query("county == '06000'")["state"].tolist() == ["ca"]
    assert len([g for g in geo_values("county") if g.endswith("000")]) == 57


def test_geo_values_match_the_id_patterns_of_the_cube():
    from delphi_signals.cube import GEO_ID_PATTERNS
    import re
    for level in ("county", "zip", "state", "msa", "hrr", "hhs", "nation"):
        pattern = re.compile(GEO_ID_PATTERNS[level])
        bad = [g for g in geo_values(level) if not pattern.fullmatch(g)]
        assert not bad, (level, bad[:5])


def test_crosswalk_weights_never_exceed_one_per_source():
    for from_type, to_type in [("county", "hrr"), ("county", "msa"), ("zip", "msa"), ("zip", "state")]:
        sums = crosswalk(from_type, to_type).matrix.sum(axis=0)
        assert sums.max() <= 1 + 1e-9


def test_unsupported_pair_names_the_supported_ones():
    with pytest.raises(InputError, match="no crosswalk from msa to state; supported: county -> state"):
        crosswalk("msa", "state")


def test_missing_geodata_folder_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("DELPHI_SIGNALS_GEODATA", str(tmp_path))
    with pytest.raises(InputError, match="no geography tables in"):
        geodata_dir()


def test_build_script_pins_versions_and_hashes():
    text = (geodata_dir() / "build.py").read_text()
    assert '"0.3.24"' in text and '"1.0.0"' in text
    digests = [w for w in text.split('"') if len(w) == 64 and all(c in "0123456789abcdef" for c in w)]
    assert len(digests) == 2
