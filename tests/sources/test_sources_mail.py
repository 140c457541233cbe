"""fetch_mail_attachment(): the newest matching message's attachment, from an mbox or a Maildir built here."""

import email.utils
import mailbox
from email.message import EmailMessage

import pytest
from structlog.testing import capture_logs

from delphi_signals.sources import ContentError, FetchError, NoMatchError, fetch_mail_attachment

DAY = "2020-11-30"
CSV_CRLF = b"fips,date,count\r\n01001,2020-11-29,12\r\n01003,2020-11-29,0\r\n"  # CRLF must survive as is


def message(subject, date, attachments=(), *, message_id=None):
    msg = EmailMessage()
    msg["From"] = "reports@provider.example"
    msg["To"] = "covidcast@delphi.example"
    msg["Subject"] = subject
    if date is not None:
        msg["Date"] = date
    msg["Message-ID"] = message_id or email.utils.make_msgid(domain="provider.example")
    msg.set_content("Daily file attached.")
    for filename, data in attachments:
        maintype, subtype = ("text", "csv") if filename.endswith(".csv") else ("application", "octet-stream")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def counts(day):
    return f"fips,date,count\r\n01001,{day},1\r\n".encode()


@pytest.fixture
def messages():
    """Newest first on purpose: order in the mailbox must not decide, the Date header does."""
    return [
        message("Daily counts 20201129", "Sun, 29 Nov 2020 08:00:00 -0500",
                [("counts_20201129.csv", CSV_CRLF), ("readme.pdf", b"%PDF-1.4 ...")], message_id="<new@p>"),
        message("Re: Daily counts 20201129", "Mon, 30 Nov 2020 09:00:00 -0500", [], message_id="<reply@p>"),
        message("Daily counts 20201128", "Sat, 28 Nov 2020 08:00:00 -0500",
                [("counts_20201128.csv", counts("2020-11-28"))], message_id="<old@p>"),
        message("Weekly summary", "Mon, 30 Nov 2020 10:00:00 -0500", [("summary.csv", counts("x"))]),
        message("Daily counts 20201127", None, [("counts_20201127.csv", counts("2020-11-27"))], message_id="<nodate@p>"),
    ]


@pytest.fixture(params=["mbox", "maildir"])
def box(request, tmp_path, messages):
    if request.param == "mbox":
        path = tmp_path / "inbox.mbox"
        target = mailbox.mbox(path)
    else:
        path = tmp_path / "Maildir"
        target = mailbox.Maildir(path)
    for msg in messages:
        target.add(msg)
    target.flush()
    target.close()
    return request.param, path


def test_newest_matching_message_attachment_is_cached_byte_for_byte(box, tmp_path):
    kind, path = box
    result = fetch_mail_attachment(path, source="chng", subject=r"^Daily counts \d{8}$", filename="*.CSV",
                                   data_root=tmp_path / "var", day=DAY)
    assert result.path == tmp_path / "var" / "input" / "chng" / "20201130_counts_20201129.csv"
    assert result.path.read_bytes() == CSV_CRLF
    assert result.url == f"{kind}:{path}#<new@p>" and (result.skipped, result.attempts) == (False, 1)


def test_name_override_and_same_day_skip_and_force(box, tmp_path):
    _, path = box
    kwargs = dict(source="chng", subject=r"^Daily counts", filename="*.csv", data_root=tmp_path, day=DAY,
                  name="counts", ext="csv")
    first = fetch_mail_attachment(path, **kwargs)
    assert first.path.name == "20201130_counts.csv"
    first.path.write_bytes(b"geo,val\nedited,1\n")  # proves the second call does not rewrite it
    again = fetch_mail_attachment(path, **kwargs)
    assert again.skipped and again.path.read_bytes() == b"geo,val\nedited,1\n"
    forced = fetch_mail_attachment(path, force=True, **kwargs)
    assert not forced.skipped and forced.path.read_bytes() == CSV_CRLF


def test_several_matching_attachments_need_a_filename_pattern(box, tmp_path):
    _, path = box
    with pytest.raises(FetchError, match=r"#<new@p>: newest matching message has 2 attachments "
                                         r"\(counts_20201129\.csv, readme\.pdf\); pass filename="):
        fetch_mail_attachment(path, source="chng", subject=r"^Daily counts", data_root=tmp_path, day=DAY)


def test_no_matching_subject(box, tmp_path):
    kind, path = box
    with pytest.raises(NoMatchError, match=rf"^{kind}:.*: no message matches subject /Hospital admissions/$"):
        fetch_mail_attachment(path, source="chng", subject="Hospital admissions", data_root=tmp_path, day=DAY)
    assert not (tmp_path / "input").exists()


def test_matching_subject_without_matching_attachment(box, tmp_path):
    _, path = box
    with pytest.raises(NoMatchError, match=r"1 message\(s\) match subject /\^Re:/ but none has an attachment"):
        fetch_mail_attachment(path, source="chng", subject="^Re:", data_root=tmp_path, day=DAY)
    with pytest.raises(NoMatchError, match=r"but none has an attachment matching '\*\.xlsx'"):
        fetch_mail_attachment(path, source="chng", subject="Daily", filename="*.xlsx", data_root=tmp_path, day=DAY)


def test_message_without_date_header_is_not_the_newest(tmp_path):
    path = tmp_path / "inbox.mbox"
    box = mailbox.mbox(path)
    box.add(message("Daily counts 20201128", "Sat, 28 Nov 2020 08:00:00 +0000", [("a.csv", counts("28"))]))
    box.add(message("Daily counts 20201129", None, [("b.csv", counts("29"))]))
    box.close()
    result = fetch_mail_attachment(path, source="s", subject="Daily", data_root=tmp_path, day=DAY)
    assert result.path.name == "20201130_a.csv"


def test_bad_attachment_is_rejected_like_a_bad_download(tmp_path):
    path = tmp_path / "inbox.mbox"
    box = mailbox.mbox(path)
    box.add(message("Daily counts", "Sat, 28 Nov 2020 08:00:00 +0000",
                    [("counts.csv", b"<html><body>Your session expired</body></html>")]))
    box.close()
    with capture_logs() as logs, pytest.raises(ContentError, match=r"an HTML page, not csv data") as info:
        fetch_mail_attachment(path, source="s", subject="Daily", data_root=tmp_path, day=DAY)
    assert info.value.rule == "html"
    assert not (tmp_path / "input" / "s" / "20201130_counts.csv").exists()
    assert (tmp_path / "input" / "s" / "rejected" / "20201130_counts.csv.reason").exists()
    assert logs[-1]["event"] == "fetch rejected" and logs[-1]["source"] == "s"


def test_missing_or_malformed_mailbox(tmp_path):
    with pytest.raises(FetchError, match=r"nothere\.mbox: no such mailbox"):
        fetch_mail_attachment(tmp_path / "nothere.mbox", source="s", subject="x", data_root=tmp_path)
    (tmp_path / "plain_dir").mkdir()
    with pytest.raises(FetchError, match=r"plain_dir: not a Maildir \(needs cur/, new/ and tmp/ folders\)"):
        fetch_mail_attachment(tmp_path / "plain_dir", source="s", subject="x", data_root=tmp_path)


def test_success_is_logged_with_fixed_fields(tmp_path):
    path = tmp_path / "inbox.mbox"
    box = mailbox.mbox(path)
    box.add(message("Daily counts", "Sat, 28 Nov 2020 08:00:00 +0000", [("counts.csv", CSV_CRLF)],
                    message_id="<m1@p>"))
    box.close()
    with capture_logs() as logs:
        result = fetch_mail_attachment(path, source="s", subject="Daily", data_root=tmp_path, day=DAY)
    (entry,) = logs
    assert entry["event"] == "fetched file" and entry["attempt"] == 1
    assert (entry["source"], entry["url"], entry["file"]) == ("s", f"mbox:{path}#<m1@p>", str(result.path))
    assert (entry["bytes"], entry["sha256"], entry["date"]) == (len(CSV_CRLF), result.sha256, "2020-11-28T08:00:00+00:00")
