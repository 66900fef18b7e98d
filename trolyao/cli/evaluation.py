"""`trolyao eval FILE.jsonl`: score answers on labelled questions (trolyao/staff/evaluation.py)."""
from __future__ import annotations

import json
import sys

from trolyao.cli.common import error, start_assistant
from trolyao.core import runtime
from trolyao.staff.evaluation import (EvalFileError, EvalRun, assistant_asker, document_texts,
                                      format_report, load_questions, run, search_asker,
                                      threshold_sweep)


def add_parsers(sub, settings) -> None:
    p = sub.add_parser("eval", help="score answers on labelled questions (Hit@k, MRR, declines)")
    p.add_argument("path", metavar="FILE.jsonl",
                   help='JSON lines {"qid","text","expected":[catalog ids] or ["oos"]}')
    p.add_argument("--strip-diacritics", action="store_true",
                   help="ask every question without tone marks (as typed on a plain keyboard)")
    p.add_argument("--search-only", action="store_true",
                   help="search + decision only, without Rasa (fast, for tuning)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--questions", action="store_true",
                   help="with --json: include every question's outcome")
    p.add_argument("--sweep", action="store_true",
                   help="search + decision at several answer thresholds (to choose one)")
    p.set_defaults(func=cmd_eval)


def _progress(done: int, total: int) -> None:
    if done % 25 == 0 or done == total:
        print(f"\r  {done}/{total} questions", end="\n" if done == total else "",
              file=sys.stderr, flush=True)


def cmd_eval(args) -> int:
    try:
        questions = load_questions(args.path)
    except (OSError, EvalFileError) as exc:
        error(str(exc))
        return 2
    if not questions:
        error(f"{args.path} has no questions to score")
        return 2
    evaluation = EvalRun(str(args.path), args.strip_diacritics,
                         "search-only" if args.search_only else "chat")
    progress = _progress if sys.stderr.isatty() else None
    if args.sweep:
        rows = threshold_sweep(questions, runtime.knowledge_base(), runtime.catalog(),
                               strip=args.strip_diacritics)
        if args.json:
            print(json.dumps(rows, indent=1))
        else:
            print(f"{'threshold':>9} {'Hit@1':>6} {'Hit@3':>6} {'MRR':>6} {'oos declined':>12} "
                  f"{'false declines':>14}")
            for r in rows:
                print(f"{r['threshold']:9.2f} {r['hit@1']:6.3f} {r['hit@3']:6.3f} {r['mrr']:6.3f} "
                      f"{r['oos_decline_rate']:12.3f} {r['false_decline_rate']:14.3f}")
        return 0
    if args.search_only:
        ask = search_asker(runtime.knowledge_base(), runtime.catalog())
        evaluation.outcomes = run(questions, ask, strip=args.strip_diacritics, progress=progress,
                                  documents=document_texts(runtime.knowledge_base()))
    else:
        # Evaluation conversations are not kept with citizens' ones.
        settings = runtime.settings()
        settings.tracker_store = "memory://"
        assistant = start_assistant(settings)
        try:
            evaluation.outcomes = run(questions, assistant_asker(assistant),
                                      strip=args.strip_diacritics, progress=progress,
                                      documents=document_texts(runtime.knowledge_base()))
        finally:
            assistant.close()
    if args.json:
        print(json.dumps(evaluation.to_json(args.questions), ensure_ascii=False, indent=1))
    else:
        title = (f"trolyao eval {args.path}" + (" --strip-diacritics" if args.strip_diacritics else "")
                 + (" --search-only" if args.search_only else ""))
        print(format_report(evaluation.summary(), title))
    return 0
