"""Fusion weight and answer/decline model by cross-validation grouped by source article.

    TROLYAO_HOME=... .venv/bin/python bench/decision_cv.py ../shared/eval/dev.jsonl [--strip]
        [--features named_any,coverage,out_of_scope,semantic] [--max-false 0.015] [--json out.json]

1. Every question is searched (search + decision evidence, no Rasa) once per dense fusion weight
   of the grid (`--dense-weights`); query embeddings are cached, so the grid costs little more
   than one pass. With `--strip`, each question is also asked without tone marks and both
   versions are fitted and scored (they share the article's fold).
2. Five folds; the rows of one source article (the qid up to its last "-": "A-01d4648f", "B",
   "C-FAQ-xuatnhapcanh") are always in the same fold. On the four training folds: the dense
   weight with the best Hit@1 + Hit@3; a logistic model p(in scope | evidence) (Newton, small
   L2); the highest answer threshold whose false-decline rate on the training folds stays
   ≤ `--max-false` (0.015). The held-out fold is scored with them.
3. Prints the cross-validated figures (what to report), the in-sample figures of the model fitted
   on everything, and that model's weights (what `knowledge/decision.py` uses, rounded).

Hit@k counts a declined in-scope question as a miss, as `trolyao eval` does.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FOLDS = 5
ALL_FEATURES = ("named", "named_any", "coverage", "out_of_scope", "semantic")


def article(qid: str) -> str:
    return qid.rsplit("-", 1)[0]


def fold_of_groups(groups: list[str], folds: int = FOLDS) -> dict[str, int]:
    return {g: i % folds for i, g in enumerate(sorted(set(groups)))}


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 0.01, steps: int = 50) -> np.ndarray:
    """Weights [bias, w1, …] of a logistic regression by Newton's method with a small ridge."""
    xb = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(xb.shape[1])
    reg = l2 * np.eye(len(w))
    reg[0, 0] = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(xb @ w)))
        grad = xb.T @ (p - y) + reg @ w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + reg + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def probabilities(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-(w[0] + x @ w[1:])))


def figures(rows: list[dict], answered: np.ndarray) -> dict:
    ins = [i for i, r in enumerate(rows) if not r["oos"]]
    oos = [i for i, r in enumerate(rows) if r["oos"]]

    def rank(i):
        if not answered[i]:
            return None
        for k, s in enumerate(rows[i]["services"], 1):
            if s in rows[i]["expected"]:
                return k
        return None

    ranks = [rank(i) for i in ins]
    return {
        "hit@1": sum(r == 1 for r in ranks) / max(1, len(ins)),
        "hit@3": sum(r is not None and r <= 3 for r in ranks) / max(1, len(ins)),
        "oos_declined": sum(not answered[i] for i in oos) / max(1, len(oos)),
        "false_declines": sum(not answered[i] for i in ins) / max(1, len(ins)),
        "in_scope": len(ins), "oos": len(oos),
    }


def choose_threshold(p: np.ndarray, rows: list[dict], max_false: float) -> float:
    ins = np.array([not r["oos"] for r in rows])
    best = 0.05
    for t in np.arange(0.05, 0.96, 0.01):
        false = float(np.mean(p[ins] < t)) if ins.any() else 0.0
        if false <= max_false:
            best = float(t)
    return round(best, 2)


def collect(questions, kb, catalog, dense_weights, strip: bool) -> dict[float, list[dict]]:
    from knowledge.decision import scope_evidence
    from knowledge.textnorm import strip_diacritics
    from trolyao.staff.evaluation import services_of

    searcher = kb.searcher
    original = searcher.weights
    out: dict[float, list[dict]] = {}
    try:
        for dw in dense_weights:
            searcher.weights = replace(original, dense=dw)
            rows = []
            for q in questions:
                variants = [(q.text, False)] + ([(strip_diacritics(q.text), True)] if strip else [])
                for text, stripped in variants:
                    hits = kb.search(text, k=8)
                    named = [m.service_id for m in catalog.mentions(text)]
                    ev = scope_evidence(hits, named) if hits else {}
                    top = hits[0] if hits else None
                    ev["semantic"] = float(getattr(top, "service_dense", None) or 0.0) if top else 0.0
                    rows.append({"qid": q.qid, "group": article(q.qid), "stripped": stripped,
                                 "oos": q.out_of_scope, "expected": list(q.expected),
                                 "services": services_of(h.source() for h in hits),
                                 "evidence": ev})
            out[dw] = rows
    finally:
        searcher.weights = original
    return out


def matrix(rows: list[dict], features: tuple[str, ...]) -> np.ndarray:
    return np.array([[r["evidence"].get(f, 0.0) for f in features] for r in rows], dtype=float)


def ranking_score(rows: list[dict]) -> float:
    f = figures(rows, np.ones(len(rows), dtype=bool))
    return f["hit@1"] + f["hit@3"]


def cross_validate(data: dict[float, list[dict]], features, max_false: float,
                   folds: int = FOLDS) -> dict:
    weights = sorted(data)
    any_rows = data[weights[0]]
    fold_of = fold_of_groups([r["group"] for r in any_rows], folds)
    answered_all = {}
    chosen = []
    for fold in range(folds):
        train_idx = [i for i, r in enumerate(any_rows) if fold_of[r["group"]] != fold]
        test_idx = [i for i, r in enumerate(any_rows) if fold_of[r["group"]] == fold]
        dw = max(weights, key=lambda w: (ranking_score([data[w][i] for i in train_idx]), -abs(w - 1)))
        rows = data[dw]
        train = [rows[i] for i in train_idx]
        x, y = matrix(train, features), np.array([0.0 if r["oos"] else 1.0 for r in train])
        w = fit_logistic(x, y)
        t = choose_threshold(probabilities(w, x), train, max_false)
        chosen.append({"fold": fold, "dense": dw, "threshold": t})
        test = [rows[i] for i in test_idx]
        p = probabilities(w, matrix(test, features))
        for i, pi in zip(test_idx, p):
            answered_all[i] = (pi >= t, rows[i])
    order = sorted(answered_all)
    rows = [answered_all[i][1] for i in order]
    answered = np.array([answered_all[i][0] for i in order])
    out = {"all": figures(rows, answered), "chosen": chosen}
    for stripped in (False, True):
        sel = [k for k, r in enumerate(rows) if r["stripped"] == stripped]
        if sel:
            out["stripped" if stripped else "marked"] = figures([rows[k] for k in sel], answered[sel])
    return out


def in_sample(data, features, max_false: float, dense: float | None = None) -> dict:
    weights = sorted(data)
    dw = dense if dense is not None else max(weights, key=lambda w: (ranking_score(data[w]), -abs(w - 1)))
    rows = data[dw]
    x, y = matrix(rows, features), np.array([0.0 if r["oos"] else 1.0 for r in rows])
    w = fit_logistic(x, y)
    p = probabilities(w, x)
    t = choose_threshold(p, rows, max_false)
    out = {"dense": dw, "threshold": t, "bias": round(float(w[0]), 3),
           "weights": {f: round(float(v), 3) for f, v in zip(features, w[1:])}}
    answered = p >= t
    out["all"] = figures(rows, answered)
    for stripped in (False, True):
        sel = [k for k, r in enumerate(rows) if r["stripped"] == stripped]
        if sel:
            out["stripped" if stripped else "marked"] = figures([rows[k] for k in sel], answered[sel])
    return out


def current_model(data, dense: float) -> dict:
    """The figures of the model in knowledge/decision.py (in-sample: it was fitted on these)."""
    from knowledge.decision import answer_threshold_for, in_scope_probability

    rows = data[dense]
    answered = np.array([in_scope_probability(_evidence(r)) >= answer_threshold_for(_evidence(r))
                         for r in rows])
    out = {"all": figures(rows, answered)}
    for stripped in (False, True):
        sel = [k for k, r in enumerate(rows) if r["stripped"] == stripped]
        if sel:
            out["stripped" if stripped else "marked"] = figures([rows[k] for k in sel], answered[sel])
    return out


def _evidence(row: dict) -> dict:
    ev = dict(row["evidence"])
    if not ev.get("semantic"):
        ev.pop("semantic", None)
    return ev


def _fmt(f: dict) -> str:
    return (f"Hit@1 {f['hit@1']:.3f}  Hit@3 {f['hit@3']:.3f}  oos declined {f['oos_declined']:.3f}  "
            f"false declines {f['false_declines']:.3f}  (n={f['in_scope']}+{f['oos']})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("path", nargs="?", default="../shared/eval/dev.jsonl")
    ap.add_argument("--strip", action="store_true", help="also ask every question without tone marks")
    ap.add_argument("--features", default="named_any,coverage,out_of_scope,semantic",
                    help=f"evidence to fit, of {', '.join(ALL_FEATURES)}")
    ap.add_argument("--dense-weights", default="0.5,1.0,1.5,2.0")
    ap.add_argument("--max-false", type=float, default=0.015)
    ap.add_argument("--json", help="write every row's evidence and the results here")
    args = ap.parse_args(argv)

    from trolyao.core import runtime
    from trolyao.staff.evaluation import load_questions

    questions = load_questions(args.path)
    kb, catalog = runtime.knowledge_base(), runtime.catalog()
    features = tuple(f for f in args.features.split(",") if f)
    dense_weights = [float(w) for w in args.dense_weights.split(",")]
    data = collect(questions, kb, catalog, dense_weights, args.strip)
    print(f"embedder: {kb.embedder.identity}; features: {', '.join(features)}")
    for dw in dense_weights:
        f = figures(data[dw], np.ones(len(data[dw]), dtype=bool))
        print(f"  dense weight {dw:.2f}: ranking only (nothing declined) Hit@1 {f['hit@1']:.3f} "
              f"Hit@3 {f['hit@3']:.3f}")
    cv = cross_validate(data, features, args.max_false)
    print(f"cross-validated ({FOLDS} folds grouped by article):")
    for key in ("all", "marked", "stripped"):
        if key in cv:
            print(f"  {key:8} {_fmt(cv[key])}")
    print("  chosen per fold: " + "; ".join(f"dense {c['dense']}, threshold {c['threshold']}"
                                             for c in cv["chosen"]))
    fit = in_sample(data, features, args.max_false)
    print(f"fitted on everything (in-sample): dense {fit['dense']}, bias {fit['bias']}, "
          f"weights {fit['weights']}, threshold {fit['threshold']}")
    for key in ("all", "marked", "stripped"):
        if key in fit:
            print(f"  {key:8} {_fmt(fit[key])}")
    searcher_dense = kb.searcher.weights.dense
    if searcher_dense in data:
        cur = current_model(data, searcher_dense)
        print(f"knowledge/decision.py as it is (dense weight {searcher_dense}, in-sample):")
        for key in ("all", "marked", "stripped"):
            if key in cur:
                print(f"  {key:8} {_fmt(cur[key])}")
    if args.json:
        Path(args.json).write_text(json.dumps({"cv": cv, "fit": fit, "rows": data[fit["dense"]]},
                                              ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
