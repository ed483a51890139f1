"""Charts drawn on the server as SVG (no chart library, nothing fetched)."""

from datetime import date

from django.utils.translation import gettext as _

WIDTH, HEIGHT, PAD = 640, 220, 36


def growth_svg_context(weeks: list[tuple[date, int, int]]) -> dict:
    """Coordinates for a cumulative line and weekly bars, scaled to the SVG's box."""
    if not weeks:
        return {"empty": True, "width": WIDTH, "height": HEIGHT}
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    top_total = max(w[2] for w in weeks) or 1
    top_week = max(w[1] for w in weeks) or 1
    step = inner_w / max(1, len(weeks) - 1) if len(weeks) > 1 else 0
    points, bars = [], []
    bar_w = max(1.0, inner_w / len(weeks) - 1)
    for i, (week, new, total) in enumerate(weeks):
        x = PAD + i * step
        y = PAD + inner_h * (1 - total / top_total)
        points.append(f"{x:.1f},{y:.1f}")
        h = inner_h * 0.35 * new / top_week
        bars.append(
            {
                "x": round(x - bar_w / 2, 1),
                "y": round(PAD + inner_h - h, 1),
                "h": round(h, 1),
                "w": round(bar_w, 1),
                "week": week,
                "new": new,
            }
        )
    return {
        "empty": False,
        "width": WIDTH,
        "height": HEIGHT,
        "pad": PAD,
        "bottom": HEIGHT - PAD,
        "right": WIDTH - PAD,
        "points": " ".join(points),
        "bars": bars,
        "top_total": top_total,
        "first": weeks[0][0],
        "last": weeks[-1][0],
        # Here rather than in the template: makemessages reads no .svg file.
        "headline": _("%(total)s in total, +%(new)s this week")
        % {"total": weeks[-1][2], "new": weeks[-1][1]},
    }
