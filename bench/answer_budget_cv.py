"""Cross-validated choice of the reply's word budget (knowledge/answering/compose.py).

The budget is the one answering parameter that trades a shorter reply for more facts stated,
so it is chosen the way the guide asks for thresholds: by cross-validation grouped by source
article. For each budget the answer-fact rows are answered once (search + decision + answering,
no Rasa); then, fold by fold (articles held out together), the budget with the best pass rate
on the other folds whose median reply stays within the 90-word target is scored on the held-out
fold. Prints the per-budget figures and the cross-validated pass rate.

    .venv/bin/python bench/answer_budget_cv.py ../shared/eval/dev_answer_facts.jsonl
"""
from __future__ import annotations

import statistics
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BUDGETS = (80, 90, 100, 110, 120)
FOLDS = 5
MEDIAN_TARGET = 90


def article(qid: str) -> str:
    """Rows of one source article share the qid up to its last '-' ("A-0820ea52-3")."""
    return qid.rsplit("-", 1)[0]


def main(path: str) -> int:
    from knowledge.answering import compose
    from trolyao.core import runtime
    from trolyao.staff.evaluation import load_questions, reply_words, run, search_asker

    questions = load_questions(path)
    kb, catalog = runtime.knowledge_base(), runtime.catalog()
    results: dict[int, dict[str, tuple[bool, int]]] = {}
    default = compose.REPLY_WORDS
    try:
        for budget in BUDGETS:
            compose.REPLY_WORDS = budget
            outcomes = run(questions, search_asker(kb, catalog))
            results[budget] = {o.question.qid: (o.facts_pass, reply_words(o.text))
                               for o in outcomes}
    finally:
        compose.REPLY_WORDS = default
    print(f"{'budget':>6} {'facts':>6} {'median words':>12} {'p90 words':>9}")
    for budget in BUDGETS:
        rows = results[budget].values()
        words = sorted(w for _, w in rows)
        print(f"{budget:6d} {sum(p for p, _ in rows) / len(words):6.3f} "
              f"{statistics.median(words):12.1f} {words[int(0.9 * (len(words) - 1))]:9d}")

    groups = sorted({article(q.qid) for q in questions})
    fold_of = {g: i % FOLDS for i, g in enumerate(groups)}
    passed = total = 0
    chosen = defaultdict(int)
    for fold in range(FOLDS):
        train = [q.qid for q in questions if fold_of[article(q.qid)] != fold]
        test = [q.qid for q in questions if fold_of[article(q.qid)] == fold]

        def train_score(budget: int) -> tuple[bool, float]:
            rows = [results[budget][q] for q in train]
            ok = statistics.median(w for _, w in rows) <= MEDIAN_TARGET
            return ok, sum(p for p, _ in rows) / len(rows)

        best = max(BUDGETS, key=lambda b: (*train_score(b), -b))
        chosen[best] += 1
        passed += sum(results[best][q][0] for q in test)
        total += len(test)
    print(f"cross-validated pass rate ({FOLDS} folds grouped by article): {passed / total:.3f}; "
          f"budgets chosen: {dict(chosen)}; in use: {default}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "../shared/eval/dev_answer_facts.jsonl"))
