"""Progress-bar tiers, the FLOWODM_PROGRESS switch and the delivery counter."""

from __future__ import annotations

import pytest
import tqdm.auto
import tqdm.std

from flowodm.exceptions import ArgumentTypeError, ConfigurationError, InvalidArgumentError
from flowodm.progress import DeliveryProgress, open_progress
from tests.pandas.bars import RecordingBar


def test_false_gives_no_bar() -> None:
    assert open_progress(False, total=10, desc="x") is None


def test_a_custom_class_is_used_with_total_and_description() -> None:
    bar = open_progress(RecordingBar, total=10, desc="orders")
    assert isinstance(bar, RecordingBar)
    assert bar.total == 10
    assert bar.desc == "orders"
    bar.close()


def test_automatic_tier_shows_nothing_when_output_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert open_progress(None, total=10, desc="x") is None
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("value", ["0", "false", "off", "no"])
def test_env_switch_disables_the_automatic_bar(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("FLOWODM_PROGRESS", value)
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert open_progress(None, total=10, desc="x") is None


def test_automatic_tier_in_a_terminal_is_a_text_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    bar = open_progress(None, total=3, desc="x")
    assert type(bar) is tqdm.std.tqdm
    bar.close()


def test_env_can_force_the_text_tier(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWODM_PROGRESS", "text")
    bar = open_progress(None, total=3, desc="x")
    assert type(bar) is tqdm.std.tqdm
    bar.close()


def test_explicit_true_shows_a_bar_even_off_a_terminal() -> None:
    bar = open_progress(True, total=3, desc="x")
    assert isinstance(bar, tqdm.std.tqdm)
    bar.close()


def test_in_a_notebook_the_automatic_tier_is_tqdm_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("flowodm.progress._in_notebook", lambda: True)
    bar = open_progress(None, total=3, desc="x")
    assert type(bar) is tqdm.auto.tqdm
    bar.close()


def test_unknown_env_value_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWODM_PROGRESS", "sometimes")
    with pytest.raises(ConfigurationError, match="FLOWODM_PROGRESS"):
        open_progress(None, total=1, desc="x")


def test_an_unknown_progress_value_follows_the_bad_argument_rule() -> None:
    with pytest.raises(InvalidArgumentError, match="progress='loud'") as unknown:
        open_progress("loud", total=1, desc="x")  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError, match="progress=3") as wrong_type:
        open_progress(3, total=1, desc="x")  # type: ignore[arg-type]
    assert isinstance(unknown.value, ValueError) and isinstance(wrong_type.value, TypeError)
    assert unknown.value.argument == wrong_type.value.argument == "progress"


def test_delivery_progress_counts_acks_and_shows_invalid_and_failed() -> None:
    bar = open_progress(RecordingBar, total=10, desc="x")
    assert isinstance(bar, RecordingBar)
    progress = DeliveryProgress(bar)
    progress.acked(4)
    progress.acked(0)
    progress.counts(invalid=1, failed=0)
    progress.counts(invalid=1, failed=0)  # unchanged: not redrawn
    progress.acked(5)
    progress.counts(invalid=1, failed=2)
    progress.close()
    progress.close()
    assert bar.n == 9
    assert bar.postfixes == [{"invalid": 1, "failed": 0}, {"invalid": 1, "failed": 2}]
    assert bar.closed


def test_delivery_progress_without_a_bar_does_nothing() -> None:
    progress = DeliveryProgress(None)
    progress.acked(3)
    progress.counts(invalid=1, failed=1)
    progress.close()


def test_widget_tier_builds_a_notebook_bar_even_without_a_kernel() -> None:
    import tqdm.notebook

    bar = open_progress("widget", total=3, desc="x")
    assert isinstance(bar, tqdm.notebook.tqdm)
    bar.update(3)
    bar.close()


def test_invalid_rows_come_off_the_total_so_a_clean_run_ends_full() -> None:
    bar = open_progress(RecordingBar, total=10, desc="orders")
    progress = DeliveryProgress(bar)

    progress.counts(invalid=2, failed=0)
    progress.acked(5)
    progress.counts(invalid=3, failed=0)
    progress.acked(2)
    progress.counts(invalid=3, failed=0)  # unchanged counts change nothing

    assert isinstance(bar, RecordingBar)
    assert (bar.n, bar.total) == (7, 7)
    assert bar.postfixes[-1] == {"invalid": 3, "failed": 0}


def test_the_notebook_bar_widget_follows_the_lowered_total() -> None:
    from tqdm.notebook import tqdm as notebook_tqdm

    bar = notebook_tqdm(total=6, desc="orders", leave=True)
    # types-tqdm narrows tqdm.notebook's update(n) to int; at run time it is tqdm.std's.
    progress = DeliveryProgress(bar)  # type: ignore[arg-type]

    progress.counts(invalid=3, failed=0)
    progress.acked(3)
    progress.close()

    widget = bar.container.children[1]
    assert (widget.value, widget.max, widget.bar_style) == (3, 3, "success")
