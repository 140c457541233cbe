"""fetch() over sftp:// against a local in-process SFTP server (needs paramiko and pytest-sftpserver)."""

import pytest

pytest.importorskip("paramiko", reason="sftp:// is optional: pip install paramiko")
pytest.importorskip("pytest_sftpserver", reason="the local SFTP server comes from pytest-sftpserver")

from delphi_signals.sources import ContentError, FetchError, Retry, fetch  # noqa: E402

CSV = b"geo_id,val\n01001,3\n"


def test_sftp_fetch_through_a_local_server(sftpserver, tmp_path):
    options = {"username": "user", "password": "pw", "port": sftpserver.port}
    with sftpserver.serve_content({"drop": {"counts.csv": CSV.decode(), "oops.csv": "<html><body>no</body></html>"}}):
        result = fetch(f"sftp://{sftpserver.host}/drop/counts.csv", source="s", data_root=tmp_path,
                       day="2020-11-30", storage_options=options)
        assert result.path.read_bytes() == CSV and result.path.name == "20201130_counts.csv"
        with pytest.raises(ContentError, match="an HTML page"):
            fetch(f"sftp://{sftpserver.host}/drop/oops.csv", source="s", data_root=tmp_path, day="2020-11-30",
                  storage_options=options)
        with pytest.raises(FetchError, match="not found"):
            fetch(f"sftp://{sftpserver.host}/drop/missing.csv", source="s", data_root=tmp_path, day="2020-11-30",
                  storage_options=options, retry=Retry(attempts=2, delay=0.001))
