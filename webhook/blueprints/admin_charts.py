"""The admin page's charts: server-side matplotlib SVG (no JavaScript, nothing from a CDN).

Figures are built with the object API (no pyplot), so concurrent requests do not share
state; text is drawn as paths so the SVG looks the same without the fonts installed.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402

from trolyao.staff.report import Summary  # noqa: E402

BLUE, GREEN, RED, GREY, AMBER = "#1f5fa8", "#2e8540", "#c0392b", "#9aa5b1", "#d68910"
CHART_NAMES = ("per-day", "answered", "satisfaction", "services")


def _figure(width: float = 6.4, height: float = 3.0) -> Figure:
    figure = Figure(figsize=(width, height), dpi=100)
    figure.patch.set_facecolor("white")
    return figure


def _plain_axes(axes) -> None:
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.tick_params(labelsize=9)


def _no_data(figure: Figure, message: str) -> None:
    axes = figure.add_subplot()
    axes.axis("off")
    axes.text(0.5, 0.5, message, ha="center", va="center", fontsize=12, color=GREY)


def _svg(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    return out.getvalue()


def questions_per_day(summary: Summary) -> bytes:
    figure = _figure()
    axes = figure.add_subplot()
    _plain_axes(axes)
    positions = range(len(summary.days))
    axes.bar(positions, summary.questions_per_day, color=BLUE, width=0.8)
    step = max(1, len(summary.days) // 8)
    ticks = list(positions)[::-1][::step][::-1]  # counted back from today, so today is labelled
    axes.set_xticks(ticks)
    axes.set_xticklabels([summary.days[i].strftime("%d/%m") for i in ticks])
    axes.set_ylabel("câu hỏi", fontsize=9)
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.set_title(f"Câu hỏi mỗi ngày ({len(summary.days)} ngày qua)", fontsize=11, loc="left")
    return _svg(figure)


def answered_vs_declined(summary: Summary) -> bytes:
    figure = _figure(4.2, 3.0)
    if not summary.questions:
        _no_data(figure, "Chưa có câu hỏi")
        return _svg(figure)
    axes = figure.add_subplot()
    values = [summary.answered, summary.declined]
    labels = [f"Trả lời được\n{summary.answered} ({summary.answered / summary.questions:.0%})",
              f"Từ chối / chưa trả lời\n{summary.declined} ({summary.declined / summary.questions:.0%})"]
    axes.pie(values, labels=labels, colors=[GREEN, AMBER], startangle=90, counterclock=False,
             wedgeprops={"width": 0.38, "edgecolor": "white"}, textprops={"fontsize": 9})
    axes.set_aspect("equal")
    axes.set_title("Trả lời được và từ chối", fontsize=11, loc="left")
    return _svg(figure)


def satisfaction(summary: Summary) -> bytes:
    """Share of 👍 among the feedback buttons, against the 90% target of Kế hoạch 400."""
    figure = _figure(6.4, 1.9)
    rated = summary.positive + summary.negative
    if not rated:
        _no_data(figure, f"Chưa có phản hồi (mục tiêu hài lòng {summary.target:.0%})")
        return _svg(figure)
    share = summary.satisfaction
    axes = figure.add_subplot()
    _plain_axes(axes)
    axes.barh([0], [1.0], color="#eef1f4", height=0.5)
    axes.barh([0], [share], color=GREEN if share >= summary.target else RED, height=0.5)
    axes.axvline(summary.target, color="#222", linestyle="--", linewidth=1.5)
    axes.text(summary.target, 0.42, f" mục tiêu {summary.target:.0%}", fontsize=9, va="bottom")
    axes.text(min(share, 0.98), 0, f" {share:.0%} ", fontsize=11, va="center",
              ha="right" if share > 0.15 else "left", color="white" if share > 0.15 else "#222",
              fontweight="bold")
    axes.set_xlim(0, 1)
    axes.set_ylim(-0.5, 0.8)
    axes.set_yticks([])
    axes.set_xticks([0, 0.25, 0.5, 0.75, 1])
    axes.set_xticklabels(["0%", "25%", "50%", "75%", "100%"])
    axes.set_title(f"Mức hài lòng: {summary.positive} hài lòng / {rated} phản hồi",
                   fontsize=11, loc="left")
    return _svg(figure)


def top_services(summary: Summary, names) -> bytes:
    """`names`: service id -> short Vietnamese name."""
    figure = _figure(4.4, 0.8 + 0.34 * max(3, len(summary.top_services)))
    if not summary.top_services:
        _no_data(figure, "Chưa có câu hỏi về dịch vụ nào")
        return _svg(figure)
    axes = figure.add_subplot()
    _plain_axes(axes)
    services = list(reversed(summary.top_services))
    labels = [_shorten(names(sid), 30) for sid, _ in services]
    counts = [n for _, n in services]
    bars = axes.barh(range(len(services)), counts, color=BLUE, height=0.65)
    axes.bar_label(bars, padding=3, fontsize=8)
    axes.set_yticks(range(len(services)))
    axes.set_yticklabels(labels, fontsize=9)
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.set_title("Dịch vụ được hỏi nhiều nhất", fontsize=11, loc="left")
    return _svg(figure)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def render(name: str, summary: Summary, names) -> bytes:
    if name == "per-day":
        return questions_per_day(summary)
    if name == "answered":
        return answered_vs_declined(summary)
    if name == "satisfaction":
        return satisfaction(summary)
    if name == "services":
        return top_services(summary, names)
    raise KeyError(name)


@dataclass(frozen=True)
class ChartTable:
    """A chart's numbers as a table behind "Xem số liệu" (screen readers, people who zoom):
    the same figures as the SVG, so the page never depends on seeing the picture."""
    name: str            # one of CHART_NAMES: the image's URL and id
    alt: str             # the image's short text alternative
    caption: str
    columns: tuple[str, ...]   # header row; () = no header row
    rows: list[tuple]          # (row heading, cell, ...)
    wide: bool = False
    empty: str = ""            # said instead of an empty table


def _percent(part: int, whole: int) -> str:
    return f"{part / whole * 100:.0f}%" if whole else "—"


def chart_tables(summary: Summary, names) -> list[ChartTable]:
    days, total = len(summary.days), summary.questions
    feedback = summary.positive + summary.negative
    target = f"{summary.target * 100:.0f}%"
    return [
        ChartTable("per-day", f"Số câu hỏi mỗi ngày trong {days} ngày qua: tổng {total}",
                   f"Số câu hỏi mỗi ngày ({days} ngày qua, tổng {total})", ("Ngày", "Câu hỏi"),
                   [(day.strftime("%d/%m/%Y"), count)
                    for day, count in zip(summary.days, summary.questions_per_day)], wide=True),
        ChartTable("answered", f"Trả lời được {summary.answered}, từ chối {summary.declined}",
                   "Trả lời được và từ chối", ("Kết quả", "Câu hỏi", "Tỉ lệ"),
                   [("Trả lời được", summary.answered, _percent(summary.answered, total)),
                    ("Từ chối / chưa trả lời", summary.declined,
                     _percent(summary.declined, total))]),
        ChartTable("satisfaction",
                   f"Hài lòng {summary.positive} trên {feedback} phản hồi; mục tiêu {target}",
                   "Phản hồi của người dân (nút 👍/👎)", (),
                   [("Hài lòng (👍)", summary.positive),
                    ("Không hài lòng (👎)", summary.negative),
                    ("Mức hài lòng", "—" if summary.satisfaction is None
                     else f"{summary.satisfaction * 100:.0f}%"),
                    ("Mục tiêu", target)], wide=True),
        ChartTable("services", "Dịch vụ được hỏi nhiều nhất", "Dịch vụ được hỏi nhiều nhất",
                   ("Dịch vụ", "Câu hỏi"),
                   [(names(sid), count) for sid, count in summary.top_services],
                   empty="Chưa có câu hỏi về dịch vụ nào."),
    ]
