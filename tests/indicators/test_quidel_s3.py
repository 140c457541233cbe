"""quidel's pull from a real S3-compatible server on 127.0.0.1 (moto's ThreadedMotoServer), credentials checked."""

import datetime as dt
import json
import os
from pathlib import Path

import pandas as pd
import pytest

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

from delphi_signals.indicators.quidel_covidtest.objects import UnusableObjectError  # noqa: E402
from delphi_signals.indicators.quidel_covidtest.pull import pull_data, resolve_versions  # noqa: E402
from delphi_signals.indicators.quidel_covidtest.run import run_module  # noqa: E402
from luigi_tasks.cli import main  # noqa: E402

REALDATA = Path(os.environ.get("DELPHI_SIGNALS_REALDATA", "../shared/realdata")) / "delphi_fixtures" / "quidel"
DROP = REALDATA / "test_data.csv"
UPSTREAM = REALDATA / "upstream_outputs" / "quidel_issue20200817_default.csv.gz"
pytestmark = pytest.mark.skipif(not DROP.exists(), reason="needs $DELPHI_SIGNALS_REALDATA")
BUCKET = "quidel-drops"
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


@pytest.fixture(scope="module")
def s3():
    """A moto server with a bucket of dated test objects, an IAM user allowed to read it, then credentials on."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    admin = {"endpoint_url": url, "region_name": "us-east-1", "aws_access_key_id": "admin",
             "aws_secret_access_key": "admin"}
    iam = boto3.client("iam", **admin)
    iam.create_user(UserName="pipeline")
    iam.put_user_policy(UserName="pipeline", PolicyName="read", PolicyDocument=json.dumps(POLICY))
    key = iam.create_access_key(UserName="pipeline")["AccessKey"]
    client = boto3.client("s3", **admin)
    client.create_bucket(Bucket=BUCKET)
    drop = pd.read_csv(DROP, dtype=str, keep_default_na=False)
    early = drop["TestDate"].isin(["7/18/20", "7/19/20", "7/20/20"])
    objects = {
        "sofia/2020_08_16/Sofia_early-sars.csv": drop[early],
        "sofia/2020_08_17/Sofia_late-sars.csv": drop[~early],
        "sofia/2020_08_17/Sofia_flu.csv": drop.iloc[:5],  # not -sars: skipped
        "sofia/latest/Sofia-sars.csv": drop.iloc[:5],  # no date: skipped
        "sofia/2020_08_19/Sofia_after-sars.csv": drop.iloc[:5],  # after the issue: not taken
    }
    for name, frame in objects.items():
        client.put_object(Bucket=BUCKET, Key=name, Body=frame.to_csv(index=False).encode())
    import requests

    requests.post(f"{url}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()  # credentials checked
    yield {"url": url, "key_id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
    requests.post(f"{url}/moto-api/reset-auth", data=b"inf", timeout=10)
    server.stop()


def params(tmp_path, s3, *, issue="2020-08-17", bucket=BUCKET, secret=None, **indicator):
    return {"common": {"issue_date": issue, "input_dir": str(tmp_path / "var" / "input"),
                       "export_dir": str(tmp_path / "export")},
            "indicator": {"base_url": f"s3://{bucket}/", "endpoint_url": s3["url"],
                          "aws_credentials": {"aws_access_key_id": s3["key_id"],
                                              "aws_secret_access_key": secret or s3["secret"]},
                          "export_start_date": "2020-06-30", "export_end_date": "", "pull_start_date": "2020-07-09",
                          "pull_end_date": "", "export_day_range": 40, "wip_signal": "",
                          "reproduce_top_up_bugs": True, **indicator}}


def test_lists_dated_keys_and_pulls_each_day(tmp_path, s3):
    p = params(tmp_path, s3)
    versions = resolve_versions(p)
    assert versions[0].kind == "drop" and versions[0].value == "2020-08-17"
    assert versions[0].url == f"s3://{BUCKET}/"
    files, newest = pull_data(p)
    assert newest == dt.date(2020, 8, 17)
    assert [f.path.name for f in files] == ["20200816_tests.csv", "20200817_tests.csv"]
    assert [[o[0] for o in f.objects] for f in files] == [["sofia/2020_08_16/Sofia_early-sars.csv"],
                                                          ["sofia/2020_08_17/Sofia_late-sars.csv"]]


def test_run_from_the_bucket_equals_upstream(tmp_path, s3):
    paths = run_module(params(tmp_path, s3))
    ours = pd.concat([pd.read_csv(p, dtype={"geo_id": str}).assign(file=p.name) for p in paths])
    theirs = pd.read_csv(UPSTREAM, dtype={"geo_id": str})
    m = ours.merge(theirs, on=["file", "geo_id"], how="outer", indicator=True)
    assert len(paths) == 223 and (m["_merge"] == "both").all()
    assert ((m["val_x"] - m["val_y"]).abs() <= 1.01e-7).all()
    assert ((m["sample_size_x"] / m["sample_size_y"] - 1).abs() <= 1e-6).all()


def test_missing_bucket_names_it(tmp_path, s3):
    with pytest.raises(UnusableObjectError, match="bucket no-such-bucket: cannot list objects: no such bucket"):
        resolve_versions(params(tmp_path, s3, bucket="no-such-bucket"))


def test_bad_credentials_name_the_bucket(tmp_path, s3):
    with pytest.raises(UnusableObjectError, match=f"bucket {BUCKET}: cannot list objects: credentials refused"):
        resolve_versions(params(tmp_path, s3, secret="wrong"))


@pytest.mark.parametrize(("bucket", "secret", "words"), [
    ("no-such-bucket", None, "no such bucket"),
    (BUCKET, "wrong", "credentials refused"),
])
def test_cli_exit_20_naming_the_bucket(tmp_path, s3, capsys, luigi_settings, bucket, secret, words):
    p = params(tmp_path, s3, bucket=bucket, secret=secret)
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "quidel.json").write_text(json.dumps({"indicator": {
        k: v for k, v in p["indicator"].items() if k != "base_url"}}))
    luigi_settings({("delphi_signals", "data_root"): str(tmp_path / "var"),
                    ("delphi_signals", "params_dir"): str(tmp_path / "params"),
                    ("quidel", "base_url"): f"s3://{bucket}/"})
    code = main(["run", "--source", "quidel", "--date", "2020-08-17", "--days", "1", "--until", "export"])
    assert code == 20
    err = capsys.readouterr().err
    assert f"bucket {bucket}" in err and words in err
    assert not (tmp_path / "var" / "export").exists()
