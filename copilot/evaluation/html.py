"""The self-contained HTML report: inline SVG charts, no script, no network request."""

from __future__ import annotations

import html
from typing import Any

_CSS = """
body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:2rem;color:#1d2330}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #cfd6e4;padding:.3rem .6rem;
text-align:right}th{background:#eef2f8}td.l,th.l{text-align:left}.bad{color:#b3261e}
.kpi{display:inline-block;margin:0 1.5rem 1rem 0}.kpi b{display:block;font-size:1.6rem}
"""


def render(report: dict[str, Any], title: str) -> str:
    parts = [
        f"<!doctype html><html lang='zh'><head><meta charset='utf-8'>"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        _kpis(report),
    ]
    if report.get("warnings"):
        parts += [
            "<h2>Warnings per code (precision / recall)</h2>",
            _warning_bars(report["warnings"]),
        ]
    if report.get("confusion"):
        parts += [
            "<h2>Disposition confusion matrix (rows: expected, columns: proposed)</h2>",
            _confusion(report["confusion"]),
        ]
    if report.get("latency_ms"):
        parts += [
            "<h2>Latency (ms)</h2>",
            _latency(report["latency_ms"], report.get("latency_samples", {})),
        ]
    if report.get("retrievers"):
        parts += ["<h2>Retrievers side by side</h2>", _retrievers(report["retrievers"])]
    if report.get("misses"):
        parts += [f"<h2>Misses ({len(report['misses'])})</h2>", _misses(report["misses"])]
    if report.get("unlabeled_examples"):
        parts += [
            "<h2>Answers offered on unlabeled real turns (review)</h2>",
            _table(
                ["dialogue", "turn", "text", "answer", "score"],
                [
                    [x["dialogue"], x["turn"], x["text"], x["answer"], x["score"]]
                    for x in report["unlabeled_examples"]
                ],
            ),
        ]
    parts.append("</body></html>")
    return "\n".join(parts)


def _kpis(r: dict[str, Any]) -> str:
    items = []
    if r.get("answer_turns"):
        items += [("hit@1", r["hit1"]), ("hit@3", r["hit3"]), ("MRR", r["mrr"])]
    if r.get("quiet_turns"):
        items.append(("quiet rate", r["quiet_rate"]))
    if r.get("unlabeled_turns"):
        items.append(
            ("answer rate, unlabeled turns", r["unlabeled_answered"] / r["unlabeled_turns"])
        )
    if "micro" in (r.get("warnings") or {}):
        items += [
            ("warning precision", r["warnings"]["micro"]["precision"]),
            ("warning recall", r["warnings"]["micro"]["recall"]),
        ]
    if r.get("disposition_accuracy") is not None:
        items.append(("disposition accuracy", r["disposition_accuracy"]))
    return "".join(f"<span class='kpi'>{_e(k)}<b>{v:.3f}</b></span>" for k, v in items)


def _warning_bars(warnings: dict[str, dict[str, float]]) -> str:
    codes = list(warnings)
    row_h, width, label_w = 26, 360, 170
    height = row_h * len(codes) + 10
    bars = []
    for i, code in enumerate(codes):
        y = 5 + i * row_h
        p, rc = warnings[code]["precision"], warnings[code]["recall"]
        bars.append(
            f"<text x='0' y='{y + 15}' font-size='12'>{_e(code)}</text>"
            f"<rect x='{label_w}' y='{y}' width='{p * width:.1f}' height='10' fill='#3d6fd8'/>"
            f"<rect x='{label_w}' y='{y + 11}' width='{rc * width:.1f}' height='10' "
            "fill='#e08a2e'/>"
            f"<text x='{label_w + width + 8}' y='{y + 15}' font-size='12'>"
            f"P {p:.2f} · R {rc:.2f} · n {warnings[code]['support']}</text>"
        )
    legend = (
        "<p><span style='color:#3d6fd8'>■</span> precision "
        "<span style='color:#e08a2e'>■</span> recall</p>"
    )
    return (
        f"{legend}<svg xmlns='http://www.w3.org/2000/svg' width='{label_w + width + 200}' "
        f"height='{height}' role='img'>{''.join(bars)}</svg>"
    )


def _confusion(confusion: dict[str, dict[str, int]]) -> str:
    labels = sorted(set(confusion) | {c for row in confusion.values() for c in row})
    peak = max((n for row in confusion.values() for n in row.values()), default=1)
    head = (
        "<tr><th class='l'>expected \\ proposed</th>"
        + "".join(f"<th>{_e(c)}</th>" for c in labels)
        + "</tr>"
    )
    rows = []
    for expected in labels:
        cells = []
        for proposed in labels:
            n = confusion.get(expected, {}).get(proposed, 0)
            shade = 255 - int(150 * n / peak)
            colour = f"rgb({shade},{shade},255)" if n else "#fff"
            mark = " class='bad'" if n and expected != proposed else ""
            cells.append(f"<td style='background:{colour}'{mark}>{n or ''}</td>")
        rows.append(f"<tr><th class='l'>{_e(expected)}</th>{''.join(cells)}</tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _latency(latency: dict[str, dict[str, float]], samples: dict[str, list[float]]) -> str:
    table = _table(
        ["kind", "p50", "p95", "max", "n"],
        [
            [k, f"{v['p50']:.1f}", f"{v['p95']:.1f}", f"{v['max']:.1f}", int(v["n"])]
            for k, v in latency.items()
        ],
    )
    charts = [_histogram(kind, values) for kind, values in samples.items() if values]
    return table + "".join(charts)


def _histogram(kind: str, values: list[float], bins: int = 20) -> str:
    top = max(values) or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int(v / top * bins))] += 1
    peak = max(counts) or 1
    w, h = 24, 120
    bars = "".join(
        f"<rect x='{i * w}' y='{h - c / peak * h:.1f}' width='{w - 2}' height='{c / peak * h:.1f}' "
        f"fill='#3d6fd8'><title>{i * top / bins:.1f}–{(i + 1) * top / bins:.1f} ms: {c}"
        "</title></rect>"
        for i, c in enumerate(counts)
    )
    return (
        f"<p>{_e(kind)}: 0 – {top:.1f} ms</p><svg xmlns='http://www.w3.org/2000/svg' "
        f"width='{bins * w}' height='{h}' role='img'>{bars}</svg>"
    )


def _retrievers(retrievers: dict[str, dict[str, Any]]) -> str:
    return _table(
        ["retriever", "hit@1", "hit@3", "MRR", "quiet rate"],
        [
            [
                name,
                f"{r['hit1']:.3f}",
                f"{r['hit3']:.3f}",
                f"{r['mrr']:.3f}",
                f"{r['quiet_rate']:.3f}",
            ]
            for name, r in retrievers.items()
        ],
    )


def _misses(misses: list[dict[str, Any]]) -> str:
    return _table(
        ["dialogue", "turn", "kind", "expected", "got"],
        [[m["dialogue"], m["turn"], m["kind"], m["expected"], m["got"]] for m in misses],
    )


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th class='l'>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td class='l'>{_e(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))
