"""The README's data dictionary, generated from the declarations (:mod:`hypertrack_pipeline.graph`): every
raw table and view of the dataset registry, every table a step writes, and the internal bookkeeping
tables, each column with its type and meaning. `python -m hypertrack_pipeline.warehouse.dictionary`
prints it; a test compares it with the README and with a warehouse built end to end."""

from __future__ import annotations


def full_data_dictionary() -> str:
    from hypertrack_pipeline.graph import all_tables

    def cell(text: str) -> str:  # a | inside a cell would end it (|position| in a formula)
        return text.replace("|", "\\|")

    lines = ["| table | column | type | meaning |", "|---|---|---|---|"]
    for t in all_tables():
        kind = " (view)" if t.is_view else " (internal)" if t.internal else ""
        lines.append(f"| **{t.name}**{kind} | | | {cell(t.description)} |")
        lines += [f"| {t.name} | {c.name} | {c.type.split(' USING ')[0]} | {cell(c.doc)} |" for c in t.columns]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(full_data_dictionary(), end="")
