"""A batch's results summed up (counts, codes, messages, mismatches, partial reasons, JSON) and the
resubmit export (directory rules, private exclusive files, what each line holds)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from bifrost_tui.core.results import (
    MAX_MESSAGES_PER_CODE,
    MESSAGE_MAX_CHARS,
    ExportRefused,
    ResubmitExport,
    ResultsSummary,
)
from bifrost_tui.gateway.batch_results import ResultItem, ResultsMeta
from bifrost_tui.gateway.counts import RequestCounts, Source, counts_from_anthropic
from bifrost_tui.redaction import Redactor

DATA = Path(__file__).parent.parent / "data" / "recorded" / "results"
SECRET = "sk-live-0123456789abcdefSECRET"
HOSTILE = "\x1b]52;c;ZWNobyBwd25lZA==\x07\u202eevil\n\ud800[/]"


def summary(expected: RequestCounts | None = None, **kw: object) -> ResultsSummary:
    return ResultsSummary(provider="anthropic", batch_id="msgbatch_1", expected=expected, **kw)  # type: ignore[arg-type]


def ok(cid: str, status: int | None = None) -> ResultItem:
    return ResultItem(custom_id=cid, type="succeeded", status_code=status)


def failed(
    cid: str, code: str | None, message: str | None, status: int | None = None
) -> ResultItem:
    return ResultItem(cid, "errored", error_code=code, error_message=message, status_code=status)


def run(
    s: ResultsSummary, items: list[ResultItem], meta: ResultsMeta | None = None
) -> ResultsSummary:
    for item in items:
        s.add(item)
    s.finish(meta or ResultsMeta())
    return s


def text(s: ResultsSummary) -> str:
    return "\n".join(s.lines())


# ------------------------------------------------------------------------------------ counts


def test_counts_per_type_and_unknown() -> None:
    items = [ok("a"), ok("b"), failed("c", "overloaded_error", "busy")]
    items += [ResultItem("d", "canceled"), ResultItem("e", "expired"), ResultItem("f", "weird")]
    s = run(summary(), items)
    assert dict(s.counts) == {
        "succeeded": 2,
        "errored": 1,
        "canceled": 1,
        "expired": 1,
        "unknown": 1,
    }
    assert not s.partial
    assert "succeeded 2 · errored 1 · canceled 1 · expired 1 · unknown 1" in text(s)


def test_openai_origin_counts_by_http_status_class() -> None:
    items = [ok("a", 200), ok("b", 200), failed("c", "http_400", None, 400)]
    items.append(failed("d", "server_error", "boom", 503))
    s = run(summary(), items)
    assert dict(s.status_classes) == {"2xx": 2, "4xx": 1, "5xx": 1}
    assert "by HTTP status: 2xx 2 · 4xx 1 · 5xx 1" in text(s)
    assert s.to_json()["summary"]["status_classes"] == {"2xx": 2, "4xx": 1, "5xx": 1}


def test_anthropic_origin_has_no_status_line() -> None:
    s = run(summary(), [ok("a")])
    assert "HTTP status" not in text(s)


# ------------------------------------------------------------------------ codes and messages


def test_errors_grouped_by_code_with_the_three_most_frequent_messages() -> None:
    items = [failed(f"r{i}", "invalid_request_error", "Invalid model") for i in range(5)]
    items += [failed(f"s{i}", "invalid_request_error", "Too long") for i in range(3)]
    items += [failed(f"t{i}", "invalid_request_error", "Bad role") for i in range(2)]
    items += [failed("u", "invalid_request_error", "Rare")]
    items += [failed("v", "rate_limit_error", "slow down")]
    s = run(summary(), items)
    stats = s.by_code["invalid_request_error"]
    assert stats.count == 11
    assert stats.top() == [("Invalid model", 5), ("Too long", 3), ("Bad role", 2)]
    out = text(s)
    assert "invalid_request_error: 11" in out
    assert "5× Invalid model" in out and "… 1 other message(s)" in out
    assert "Rare" not in out
    codes = s.to_json()["summary"]["errors_by_code"]
    assert [c["code"] for c in codes] == ["invalid_request_error", "rate_limit_error"]
    assert codes[0]["top_messages"][0] == {"message": "Invalid model", "count": 5}


def test_at_most_1000_distinct_messages_per_code_the_rest_other() -> None:
    items = [failed(f"r{i}", "server_error", f"message {i}") for i in range(1500)]
    items.append(failed("again", "server_error", "message 3"))  # a kept one still counts
    s = run(summary(), items)
    stats = s.by_code["server_error"]
    assert len(stats.messages) == MAX_MESSAGES_PER_CODE
    assert stats.other == 500
    assert stats.messages["message 3"] == 2
    assert stats.count == 1501
    entry = s.to_json()["summary"]["errors_by_code"][0]
    assert entry["other_messages"] == 500 and entry["distinct_messages"] == 1000


def test_messages_are_redacted_before_they_are_cut() -> None:
    # The secret straddles the cut: cutting first would leave a 6-character piece no redactor
    # recognises; redacting first masks it whole.
    message = "x" * (MESSAGE_MAX_CHARS - 7) + SECRET + " tail"
    s = run(summary(redact=Redactor([SECRET])), [failed("a", "auth_error", message)])
    (kept,) = s.by_code["auth_error"].messages
    assert len(kept) <= MESSAGE_MAX_CHARS
    assert kept.endswith("…") and "***" in kept
    assert SECRET[:6] not in kept
    assert SECRET[:6] not in json.dumps(s.to_json()) and SECRET[:6] not in text(s)


def test_hostile_codes_and_messages_are_escaped_in_lines_and_json() -> None:
    s = run(
        summary(), [failed(HOSTILE, HOSTILE, HOSTILE)], ResultsMeta(gateway_parse_errors=[HOSTILE])
    )
    for line in s.lines():
        assert "\x1b" not in line and "\n" not in line and "\u202e" not in line
        line.encode("utf-8")  # a lone surrogate would raise here
    dumped = json.dumps(s.to_json(), ensure_ascii=True)
    assert json.loads(dumped)["summary"]["errors_by_code"][0]["code"] == HOSTILE


# --------------------------------------------------------------------------- ids


def test_duplicates_and_missing_ids_are_counted_and_make_it_partial() -> None:
    items = [ok("a"), ok("a"), ok("b"), ok("a"), ResultItem(None, "succeeded"), ok("")]
    s = run(summary(), items)
    assert s.duplicates == 2 and s.missing_ids == 2
    assert s.partial
    assert "2 item(s) repeat a custom_id already seen" in s.reasons
    assert "2 item(s) have no custom_id" in s.reasons
    assert "duplicate custom_ids: 2 (e.g. 'a', 'a')" in text(s)


def test_ids_differing_by_a_lone_surrogate_are_not_duplicates() -> None:
    s = run(summary(), [ok("a\ud800"), ok("a\ud801"), ok("a")])
    assert s.duplicates == 0 and not s.partial


# -------------------------------------------------------------------- expected counts


def test_counts_matching_the_batch_say_so() -> None:
    expected = RequestCounts(processing=0, succeeded=2, errored=1, canceled=0, expired=0)
    s = run(summary(expected), [ok("a"), ok("b"), failed("c", "x", "y")])
    assert not s.partial and not s.mismatches
    assert "(succeeded, errored, canceled, expired, total): they match" in text(s)


def test_missing_items_against_the_counts_are_said_and_partial() -> None:
    expected = RequestCounts(processing=0, succeeded=3, errored=1, canceled=0, expired=0)
    s = run(summary(expected), [ok("a"), ok("b"), failed("c", "x", "y")])
    assert s.partial
    assert "1 request(s) missing from the results" in s.reasons
    assert "succeeded: the batch counts 3, the results hold 2" in s.mismatches
    assert "MISMATCH" in text(s)


def test_more_items_than_counted_is_a_mismatch_said_but_not_partial() -> None:
    # The recorded OpenAI batch: total 51, completed 51, failed 2 (53 lines in its two files).
    expected = RequestCounts(succeeded=51, errored=2, known_total=51)
    items = [ok(f"r{i}", 200) for i in range(51)] + [
        failed(f"e{i}", "http_400", "x", 400) for i in range(2)
    ]
    s = run(summary(expected), items)
    assert not s.partial
    assert s.mismatches == ["the batch counts 51 request(s), the results hold 53"]


def test_only_faithful_counts_are_compared() -> None:
    # An OpenAI batch read through the Anthropic route: only ``errored`` is real there; the fake
    # zeros in succeeded/processing must not be compared (nor called a mismatch).
    raw = {"processing": 0, "succeeded": 0, "errored": 2, "canceled": 0, "expired": 0}
    expected = counts_from_anthropic(raw, "openai", Source.RETRIEVE)
    s = run(summary(expected), [ok("a", 200), failed("b", "http_400", None, 400)])
    assert s.compared_fields() == ["errored"]
    assert s.mismatches == ["errored: the batch counts 2, the results hold 1"]
    # no total known: a type short of its count is a reason to be partial
    assert s.partial
    assert "fewer results than the batch counts (1 errored)" in s.reasons


def test_no_expected_counts_said_in_words() -> None:
    s = run(summary(None), [ok("a")])
    assert "request counts are unknown: nothing to compare with" in text(s)
    assert s.to_json()["summary"]["expected"] is None


def test_a_batch_still_processing_is_partial() -> None:
    expected = RequestCounts(processing=2, succeeded=1, errored=0, canceled=0, expired=0)
    s = run(summary(expected), [ok("a")])
    assert "the batch still counts 2 request(s) processing" in s.reasons


# ---------------------------------------------------------------- lost details, partial


def test_lost_anthropic_error_details_are_said_and_never_broken_down() -> None:
    items = [ok("a"), failed("b", "error", None), failed("c", "error", None)]
    s = run(summary(), items, ResultsMeta(lost_error_details=True))
    assert s.by_code == {}
    out = text(s)
    assert (
        "the gateway does not pass errored requests' error type and message "
        "(Anthropic via the results route): 2 errored, reasons unknown"
    ) in out
    assert "errors by code" not in out
    body = s.to_json()["summary"]
    assert body["errors_by_code"] == [] and body["errored_without_details"] == 2
    assert body["lost_error_details"] is True


@pytest.mark.parametrize(
    ("meta", "reason"),
    [
        (
            ResultsMeta(has_more=True),
            "the gateway says more results follow (has_more); they were not read",
        ),
        (
            ResultsMeta(truncated_at_cap=True, bytes_read=2048),
            "stopped at the size cap after 2,048 bytes",
        ),
        (ResultsMeta(gateway_parse_errors=["bad line 3"]), "the gateway reported 1 parse error(s)"),
        (ResultsMeta(own_parse_errors=2), "2 result line(s) or item(s) could not be read"),
        (
            ResultsMeta(notes=["the error file's requests are missing"]),
            "the error file's requests are missing",
        ),
    ],
)
def test_what_the_reader_could_not_get_makes_it_partial(meta: ResultsMeta, reason: str) -> None:
    s = run(summary(), [ok("a")], meta)
    assert s.partial
    assert any(r.startswith(reason) for r in s.reasons)
    assert "Partial because:" in text(s)
    assert s.to_json()["summary"]["partial"] is True


def test_gateway_parse_errors_are_shown_redacted_and_escaped() -> None:
    meta = ResultsMeta(gateway_parse_errors=[f"line 7: key {SECRET}\x1b[2J"])
    s = run(summary(redact=Redactor([SECRET])), [ok("a")], meta)
    out = text(s)
    assert "gateway parse error: line 7: key ***\\x1b[2J" in out
    assert SECRET not in json.dumps(s.to_json())


def test_json_shape() -> None:
    expected = RequestCounts(processing=0, succeeded=1, errored=1, canceled=0, expired=0)
    s = run(summary(expected), [ok("a"), failed("b", "overloaded_error", "busy")])
    payload = s.to_json()
    assert set(payload) == {"version", "summary"} and payload["version"] == 1
    body = payload["summary"]
    assert body["provider"] == "anthropic" and body["batch_id"] == "msgbatch_1"
    assert body["complete"] is True and body["partial"] is False and body["reasons"] == []
    assert body["items"] == 2
    assert body["counts"] == {
        "succeeded": 1,
        "errored": 1,
        "canceled": 0,
        "expired": 0,
        "unknown": 0,
    }
    assert body["expected"]["total"] == 2 and body["mismatches"] == []
    assert body["errors_by_code"] == [
        {
            "code": "overloaded_error",
            "count": 1,
            "top_messages": [{"message": "busy", "count": 1}],
            "distinct_messages": 1,
            "other_messages": 0,
        }
    ]
    json.dumps(payload, ensure_ascii=True)


def test_recorded_anthropic_results_sum_up() -> None:
    """The recorded body of an ended Anthropic batch: 99 succeeded, 1 errored with its error lost,
    1 expired; the summary says the loss in words."""
    body = json.loads((DATA / "anth_ended_results.body").read_text())
    s = summary(RequestCounts(processing=0, succeeded=99, errored=1, canceled=0, expired=1))
    for raw in body["results"]:
        error = raw.get("error") or {}
        s.add(ResultItem(raw["custom_id"], raw["result"]["type"], error_code=error.get("code")))
    s.finish(ResultsMeta(lost_error_details=True))
    assert not s.partial and not s.mismatches
    assert "1 errored, reasons unknown" in text(s)


# ------------------------------------------------------------------------------ export


def export_items() -> list[ResultItem]:
    return [
        ResultItem("ok-1", "succeeded", output={"content": "customer data"}),
        failed("bad-1", "invalid_request_error", "Invalid model"),
        ResultItem("gone-1", "canceled"),
        ResultItem("late-1", "expired"),
    ]


def do_export(directory: Path, items: list[ResultItem], **kw: object) -> list[dict[str, object]]:
    export = ResubmitExport(directory, **kw)  # type: ignore[arg-type]
    export.open()
    s = summary()
    for item in items:
        s.add(item)
        export.write(item)
    s.finish(ResultsMeta())
    export.close(s)
    lines = (directory / "resubmit.jsonl").read_text(encoding="ascii").splitlines()
    return [json.loads(line) for line in lines]


def test_export_writes_the_default_types_and_the_summary(tmp_path: Path) -> None:
    target = tmp_path / "new" / "export"
    rows = do_export(target, export_items())
    assert [r["custom_id"] for r in rows] == ["bad-1", "gone-1", "late-1"]
    assert rows[0] == {
        "custom_id": "bad-1",
        "type": "errored",
        "error": {"code": "invalid_request_error", "message": "Invalid model"},
    }
    assert rows[1] == {"custom_id": "gone-1", "type": "canceled", "error": None}
    saved = json.loads((target / "summary.json").read_text())
    assert saved["version"] == 1 and saved["summary"]["items"] == 4
    assert saved["export"] == {
        "resubmit_lines": 3,
        "only": ["errored", "canceled", "expired"],
        "include_output": False,
    }
    assert "customer data" not in (target / "resubmit.jsonl").read_text()


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_export_modes_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        target = tmp_path / "export"
        do_export(target, export_items())
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    for name in ("resubmit.jsonl", "summary.json"):
        assert stat.S_IMODE((target / name).stat().st_mode) == 0o600


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_an_existing_empty_directory_of_ours_is_used_and_tightened(tmp_path: Path) -> None:
    target = tmp_path / "empty"
    target.mkdir(mode=0o755)
    target.chmod(0o755)
    do_export(target, export_items())
    assert stat.S_IMODE(target.stat().st_mode) == 0o700


def test_a_non_empty_directory_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(ExportRefused, match="is not empty"):
        ResubmitExport(tmp_path).open()
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_a_symlinked_directory_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(ExportRefused, match="is a symlink"):
        ResubmitExport(link).open()
    assert list(real.iterdir()) == []


def test_a_file_in_place_of_the_directory_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ExportRefused, match="not a directory"):
        ResubmitExport(target).open()


def test_a_symlink_planted_for_a_file_is_never_followed(tmp_path: Path) -> None:
    target = tmp_path / "export"
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    export = ResubmitExport(target)
    export.open()
    (target / "summary.json").symlink_to(victim)  # planted between open and close
    with pytest.raises(ExportRefused, match="already exists"):
        export.close(run(summary(), []))
    assert victim.read_text() == "untouched"


def test_only_chooses_the_types(tmp_path: Path) -> None:
    rows = do_export(tmp_path / "e", export_items(), only=("expired",))
    assert [r["custom_id"] for r in rows] == ["late-1"]


def test_include_output_adds_succeeded_output_only_when_succeeded_is_chosen(tmp_path: Path) -> None:
    rows = do_export(tmp_path / "a", export_items(), include_output=True)
    assert all("output" not in r for r in rows)  # succeeded not in only: nothing written
    rows = do_export(
        tmp_path / "b", export_items(), only=("succeeded", "errored"), include_output=True
    )
    assert rows[0] == {
        "custom_id": "ok-1",
        "type": "succeeded",
        "error": None,
        "output": {"content": "customer data"},
    }
    assert "output" not in rows[1]
    rows = do_export(tmp_path / "c", export_items(), only=("succeeded",))
    assert rows == [{"custom_id": "ok-1", "type": "succeeded", "error": None}]


def test_hostile_strings_are_escaped_ascii_lines(tmp_path: Path) -> None:
    message = HOSTILE + SECRET + "y" * 400
    items = [
        failed(HOSTILE, HOSTILE, message, 400),
        ResultItem("x", "succeeded", output={"t": "\udfff"}),
    ]
    target = tmp_path / "e"
    rows = do_export(
        target, items, only=("errored", "succeeded"), include_output=True, redact=Redactor([SECRET])
    )
    raw = (target / "resubmit.jsonl").read_bytes()
    assert raw.isascii() and raw.count(b"\n") == 2
    assert rows[0]["custom_id"] == HOSTILE  # the id is kept exactly: it names the request
    error = rows[0]["error"]
    assert isinstance(error, dict)
    assert SECRET not in error["message"] and "***" in error["message"]
    assert len(error["message"]) == MESSAGE_MAX_CHARS
    assert rows[0]["status_code"] == 400
    assert rows[1]["output"] == {"t": "\udfff"}
