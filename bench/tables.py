"""How the bench writes numbers and tables: durations, aligned text, Markdown."""


def duration(seconds: float) -> str:
    if seconds >= 100:
        return f"{seconds:,.0f} s"
    if seconds >= 1:
        return f"{seconds:.1f} s"
    if seconds >= 0.01:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds * 1000:.1f} ms"


def aligned(rows: list[list[str]]) -> str:
    widths = [min(60, max(len(r[i]) for r in rows)) for i in range(len(rows[0]))]
    out = []
    for i, r in enumerate(rows):
        out.append("  ".join(c[:60].ljust(w) for c, w in zip(r, widths, strict=True)))
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def markdown_table(lines: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(lines[0]) + " |", "|" + "---|" * len(lines[0])]
    return out + ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in lines[1:]]
