"""The analyzer's reports, built from the typed analysis only (no personal data).

* :mod:`.formats`: the formats and the one entry point, ``render_report`` (JSON here);
* :mod:`.csv_report`: one row per API, cells made safe for spreadsheets;
* :mod:`.html_report` and :mod:`.charts`: the self-contained HTML page and its charts;
* :mod:`.capacity_report`: the capacity plan's rows (CSV and HTML);
* :mod:`.files`: writing a report atomically.
"""

__all__: list[str] = []
