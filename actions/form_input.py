"""What a form is given (pure): a value for its slot, a wish to leave, a safety emergency, or a question (answered,
or said to be unanswerable, before the form asks again); whether a text looks like an address; the situation told
with a phone number."""

from __future__ import annotations

import re
from enum import StrEnum

from actions.understanding import KNOWLEDGE_INTENTS, UNSURE_TASK, KnowledgeMatch, Lexicon, Reading, compact

MAX_ADDRESS_CHARS = 60  # "浙江省杭州市西湖区文三路…小区3幢2单元501室" is about 30


class FormInput(StrEnum):
    VALUE = "value"  # an answer to the form's question (its own validator checks it)
    CANCEL = "cancel"  # leave the form
    SAFETY = "safety"  # a safety emergency: the advice at once
    QUESTION = "question"  # a question the knowledge base answers; the form asks again
    UNANSWERED = "unanswered"  # a question about how things work that it cannot answer: said so, asked again


def needs_knowledge_in_form(intent: str, confidence: float, reading: Reading) -> bool:
    """Inside a form only a message that reads as a question, or that the NLU confidently places elsewhere, is
    checked against the knowledge base; plain answers (an address, digits) cost nothing."""
    if reading.cancel or reading.safety or reading.payload:
        return False
    return reading.about or (intent in KNOWLEDGE_INTENTS and confidence >= UNSURE_TASK)


def screen_form_input(reading: Reading, match: KnowledgeMatch | None, free_text: bool = False) -> FormInput:
    """`free_text`: the slot asked for takes a story (the repair form's description), which may ask something."""
    if reading.cancel:
        return FormInput.CANCEL
    if reading.safety:
        return FormInput.SAFETY
    if match is not None and match.answerable and not reading.doing:
        return FormInput.QUESTION
    if match is not None and reading.strong_about and not reading.request and not free_text:
        return FormInput.UNANSWERED  # "你们一般多久能派人过来？" is not an address, and no entry answers it
    return FormInput.VALUE


def _cjk(text: str) -> int:
    return sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")


def looks_like_address(lexicon: Lexicon, text: str) -> bool:
    """Five to 60 characters, mostly Chinese, naming a place (区, 路, 号, 小区…), and not a question."""
    s = compact(text)
    if not 5 <= len(s) <= MAX_ADDRESS_CHARS:  # a long story is not an address, whatever places it names
        return False
    cjk = _cjk(s)
    if cjk < 3 or cjk < len(s) * 0.3:
        return False
    return bool(lexicon.address.search(s)) and not lexicon.about.search(s)


_FILLER = re.compile(r"(联系)?(电话|手机|手机号|号码)(是|为)?|我的|打这个|[:：,，。.!！~\s]|1[3-9]\d{9}")
MIN_SITUATION_CJK = 4  # what is left of a phone-number message that tells the situation ("整个店里都没电")


def situation_told(lexicon: Lexicon, text: str) -> str | None:
    """The situation told with the phone number, as the repair report's description: what is left of the message
    once its phone number and filler are taken out ("电话13957108846，就是家里整个没电"). None when it asks something
    or says too little. (An opening report that already describes the scope is not taken: the form's question
    checks it, and a later detail would otherwise open a second report.)"""
    s = compact(text)
    if lexicon.about.search(s) or lexicon.safety.search(s):
        return None
    rest = _FILLER.sub("", s)
    return rest if _cjk(rest) >= MIN_SITUATION_CJK else None
