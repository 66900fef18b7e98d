"""The answering stage, between search and reply: what is asked, which sentences answer it,
and how the reply reads. Each part is small and testable without Rasa:

    QuestionAnalyzer (question.py) -> AnswerSelector (selection.py) -> AnswerComposer (compose.py)

`Answerer` chains them. Its input is the search hits (knowledge/search.py); its output a
ComposedAnswer whose sentences all come from the documents.
"""
from __future__ import annotations

from knowledge.answering.compose import ASPECT_BUTTONS, AnswerComposer, ComposedAnswer
from knowledge.answering.question import QuestionAnalysis, QuestionAnalyzer, QuestionPart
from knowledge.answering.selection import AnswerSelector, Selection, SelectionWeights


class Answerer:
    """Question + retrieved passages -> the reply's text parts and the document quoted."""

    def __init__(self, analyzer: QuestionAnalyzer | None = None,
                 selector: AnswerSelector | None = None, composer: AnswerComposer | None = None):
        self.analyzer = analyzer or QuestionAnalyzer()
        self.selector = selector or AnswerSelector()
        self.composer = composer or AnswerComposer()

    def answer(self, question: str, hits: list, service: str | None = None,
               previous_doc: str | None = None, query: str | None = None,
               aspect: str | None = None) -> ComposedAnswer | None:
        """`aspect`: the aspect the conversation asks about when the message names none
        ("mất bao lâu?" after a fee question keeps nothing; a "Lệ phí" button sends only it)."""
        analysis = self.analyzer.analyze(query if query and not question.strip() else question)
        if aspect:
            for part in analysis.parts:
                if aspect not in part.aspects:
                    part.aspects.insert(0, aspect)
                if not part.wanted:
                    part.wanted = list(ASPECT_KINDS.get(aspect, ()))
            if aspect != "steps":
                analysis.request = False
        selection = self.selector.select(analysis, hits, service=service,
                                         previous_doc=previous_doc, query=query)
        return self.composer.compose(selection)


# The kind of answer each procedure aspect wants (for buttons and kept aspects).
ASPECT_KINDS = {"fee": ("fee", "number"), "time": ("duration", "number"),
                "documents": ("documents", "list"), "steps": ("steps",),
                "channel": ("place",), "eligibility": ("verdict", "age"), "help": ("place",)}

__all__ = ["ASPECT_BUTTONS", "Answerer", "answer_pool", "AnswerComposer", "AnswerSelector", "ComposedAnswer",
           "QuestionAnalysis", "QuestionAnalyzer", "QuestionPart", "Selection",
           "SelectionWeights"]


# Passages of the answered service read for an answer: all its sections (a few documents).
SERVICE_PASSAGES = 150
# Passages of other services the search ranked high that may still hold the fact
# ("Hà Nội hỗ trợ bao nhiêu phần trăm phí lý lịch tư pháp" is in phi-khong-dong).
OTHER_PASSAGES = 4


def answer_pool(knowledge_base, query: str, hits: list, services: str | list[str]) -> list:
    """Every passage of the answered service(s), ranked for `query`, then the best few of
    other services. Several services when the question names several ("thuê trọ thì đăng
    ký thường trú hay tạm trú?"): the sentence that answers decides which is cited."""
    services = [services] if isinstance(services, str) else list(services)
    own = knowledge_base.search(query, k=SERVICE_PASSAGES * len(services),
                                services=services) if query else []
    own_ids = {h.passage.passage_id for h in own}
    others = [h for h in hits if h.passage.service not in services
              and h.passage.passage_id not in own_ids][:OTHER_PASSAGES]
    return own + others
