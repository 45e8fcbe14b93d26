"""Benchmark printed letters: PDF pages per second, single-threaded and with all cores (a process pool).

The letters are the demo notices (every decision kind, zh_CN on A4 and en on US Letter, a mailing address in
the window), prepared once; only WeasyPrint's layout and PDF writing are timed. Both figures come from the same
run, side by side with their ratio, after each process has rendered one letter (fonts loaded, fontconfig
scanned): compare the lines of one run, since absolute figures on a shared machine say little. The load
average is printed with them, and the single-threaded pages per CPU-second of this process (what a core of
its own would give, roughly).

    .venv/bin/python bench/pdf.py [--letters 48] [--workers N]

The single-threaded figure is the headline: it is what one request to ``GET /v1/decisions/{id}/notice.pdf``
costs. This is not a test.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("EXPLAIN_HOME", str(REPO / "var" / "bench-home"))

ADDRESS = {"zh_CN": ["张三", "上海市浦东新区示例路88号3室", "200120"],
           "en": ["Jane Doe", "12 Elm Street, Apt 4", "Springfield, IL 62701"]}


def letters(n: int) -> list:
    """``n`` print-ready letters, cycling through the demo cases and both locales."""
    from explain import demo_bundle
    from explain.commands._cli_notice import DEMO_CASES, DEMO_NOTICE_DATE, render_demo_notice
    from explain.printing import prepare_letter

    bundle = demo_bundle()
    distinct = []
    for case in DEMO_CASES:
        for locale, paper in (("zh_CN", "a4"), ("en", "letter")):
            notice = render_demo_notice(bundle, case, locale=locale)
            distinct.append(prepare_letter(notice, profile=bundle.profile, notice_date=DEMO_NOTICE_DATE, paper=paper,
                                           mailing_address=ADDRESS[locale]))
    return [distinct[i % len(distinct)] for i in range(n)]


def pages(letter) -> int:  # noqa: ANN001 - a PrintedLetter
    """Render one letter to PDF bytes; its number of pages."""
    from explain.printing._render import document, write_pdf

    rendered = document(letter)
    write_pdf(rendered, letter.identifier)
    return len(rendered.pages)


def _warm(letter) -> None:  # noqa: ANN001
    pages(letter)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--letters", type=int, default=48)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    options = parser.parse_args()
    batch = letters(options.letters)

    pages(batch[0])  # warm: WeasyPrint imported, fonts found
    start, cpu = time.perf_counter(), time.process_time()
    single_pages = sum(pages(letter) for letter in batch)
    single = single_pages / (time.perf_counter() - start)
    per_cpu = single_pages / (time.process_time() - cpu)  # what a quiet core would give: less load-dependent

    with ProcessPoolExecutor(options.workers, initializer=_warm, initargs=(batch[0],)) as pool:
        list(pool.map(_warm, [batch[0]] * options.workers))  # every worker started and warm before the clock
        start = time.perf_counter()
        pool_pages = sum(pool.map(pages, batch))
        parallel = pool_pages / (time.perf_counter() - start)

    print(f"load average {tuple(round(x, 2) for x in os.getloadavg())}; {os.cpu_count()} cores; "
          f"{options.letters} letters, {single_pages} pages")
    print(f"{'single-threaded':<28} {single:8.1f} pages/s   ({per_cpu:.1f} pages per CPU-second)")
    print(f"{f'process pool ({options.workers} workers)':<28} {parallel:8.1f} pages/s   x{parallel / single:.2f}")


if __name__ == "__main__":
    main()
