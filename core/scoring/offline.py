"""The offline scorer: weighted signals over the same ScoreInput, same ScoreResult shape as Gemini.

How a score is made (all from core/scoring/signals.py):
1. Abuse first: spam and scams (links with money promises, phishing, fake orders) are cold 2-8. Text written
   to steer a model is cut out and never counts; what is left counts only if it is a real question, capped
   below hot.
2. Timing: the creator wrote last and the lead has been silent 3+ days -> ghosted (10-40, more if they had
   shown interest). The lead wrote last weeks ago -> a missed lead if they had asked to buy, else ghosted or
   cold.
3. Otherwise the strongest buying signal of the lead's latest messages sets the level (paid 90, buy/book or
   yes to an offer 85, availability 82, price 80, payment question 72, a question 45, ...) and the others add
   a little; a "no" in the latest message makes it cold. Engagement (voice notes, long messages, several
   messages) moves a score within its level, never across the hot line.
4. Sentiment comes from the same reading: hot iff score >= 80 (the default hot threshold), cold below 35.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from core.clients.gemini import ScoreInput, ScoreResult, Turn
from core.rules import DEFAULT_HOT_THRESHOLD, MAX_TAGS_AI, Sentiment, clip, normalize_tags
from core.scoring import signals as sig
from core.timeutil import as_utc

HOT_AT = DEFAULT_HOT_THRESHOLD  # an offline "hot" always has at least this score (core/rules.py is_hot)
COLD_BELOW = 35
GHOST_AFTER = timedelta(days=3)
STALE_AFTER = timedelta(days=10)
READ_CHARS = 6000  # per message: the first and last 3,000 characters of a longer one
LEVELS = {  # the score a signal alone is worth
    "paid": 90, "buy": 85, "yes": 84, "available": 82, "price": 80, "pay_method": 72, "soft": 50, "when": 50,
    "answer": 48, "audio": 45, "question": 45, "ack": 40, "engaged": 40, "shared": 30, "short": 28, "image": 38,
    "greeting": 38, "off_offer": 18, "fan": 20, "thanks": 25, "emoji": 15, "mention": 15,
}
STRONG = ("paid", "buy", "yes", "available", "price", "pay_method")
CHECKS = (  # signal name, pattern; several patterns may give the same signal
    ("paid", sig.PAID), ("buy", sig.BUY), ("buy", sig.TAKE), ("buy", sig.PAY_HOW), ("available", sig.AVAILABLE_ASK),
    ("price", sig.PRICE), ("pay_method", sig.PAY_METHOD), ("when", sig.WHEN), ("soft", sig.SOFT),
    ("question", sig.QUESTION), ("off_offer", sig.OFF_OFFER), ("fan", sig.FAN),
)
_SEGMENT = re.compile(r"[^.!?\n()\[\]]+[.!?\n()\[\]]*")


@dataclass
class Reading:
    """Everything the rules found in one conversation."""

    signals: list[str] = field(default_factory=list)  # of the lead's latest messages, strongest first
    earlier: set[str] = field(default_factory=set)  # of the lead's earlier messages
    abuse: str | None = None  # spam | scam | injection
    no: bool = False
    later: bool = False
    lead_wrote: bool = False
    creator_last: bool = False
    silent: timedelta = timedelta(0)  # since the last message
    lead_messages: int = 0
    lead_words: int = 0
    voice_notes: int = 0


def stage_of(reading: Reading, turns: list[Turn]) -> str:
    """The stage the conversation suggests (a suggestion: the creator's own stage is never replaced): the lead
    says they paid -> won; a plain no -> lost; the creator named a price or sent a link -> offer sent."""
    if "paid" in reading.signals or "paid" in reading.earlier:
        return "won"
    if reading.no and not reading.later and not set(reading.signals) & {*STRONG, "when"}:
        return "lost"
    creator = [sig.fold(_window(t.text)) for t in turns if t.from_creator]
    if any(sig.PRICE.search(text) or sig.LINK.search(text) or re.search(r"[$€£₽]\s?\d", text) for text in creator):
        return "offer"
    return "talking" if creator else "new"


class OfflineScorer:
    """Deterministic rules: the whole flow works with no Gemini key, and scores spread over 0-100."""

    async def score(self, data: ScoreInput) -> ScoreResult:
        reading = read(data)
        # Spam and scams the rules are sure of are suggested as spam; the creator decides (🚫 on the card).
        return dataclasses.replace(decide(reading), stage=stage_of(reading, data.turns),
                                   spam=reading.abuse in ("spam", "scam"))


# ---------------------------------------------------------------- reading


def read(data: ScoreInput) -> Reading:
    turns = sorted(data.turns, key=lambda t: as_utc(t.at))
    reading = Reading()
    if not turns:
        return reading
    lead = [t for t in turns if not t.from_creator]
    reading.lead_wrote = bool(lead)
    reading.creator_last = turns[-1].from_creator
    reading.silent = max(timedelta(0), as_utc(data.now) - as_utc(turns[-1].at))
    reading.lead_messages = len(lead)
    reading.lead_words = sum(len(t.text.split()) for t in lead)
    reading.voice_notes = sum(1 for t in lead if t.attachment == "audio")
    reading.abuse = _abuse(lead)
    latest, earlier = _split_latest(turns)
    before = _creator_before(turns, latest)
    reading.signals = _rank(_found(latest, before, reading.abuse == "injection")) or ["engaged"]
    reading.earlier = set(_found(earlier, None, reading.abuse == "injection"))
    text = sig.fold(" ".join(_clean(_window(t.text)) for t in latest))
    reading.no = bool(sig.NO.search(text))
    reading.later = bool(sig.LATER.search(text))
    return reading


def _split_latest(turns: list[Turn]) -> tuple[list[Turn], list[Turn]]:
    """The lead's messages since the creator last spoke (or their last burst, if the creator wrote last)."""
    lead_idx = [i for i, t in enumerate(turns) if not t.from_creator]
    if not lead_idx:
        return [], []
    end = lead_idx[-1]
    start = end
    while start > 0 and not turns[start - 1].from_creator:
        start -= 1
    latest = turns[start:end + 1]
    return latest, [t for t in turns[:start] if not t.from_creator]


@dataclass(frozen=True)
class Before:
    """What the creator's message right before the lead's latest burst did."""

    offered: bool  # "want me to send the link?"
    priced: bool  # named a price or sent a link
    asked: bool  # asked the lead something


def _creator_before(turns: list[Turn], latest: list[Turn]) -> Before | None:
    if not latest:
        return None
    i = turns.index(latest[0])
    if i == 0 or not turns[i - 1].from_creator:
        return None
    text = sig.fold(_window(turns[i - 1].text))
    return Before(bool(sig.CREATOR_OFFER.search(text)), bool(sig.PRICE.search(text) or sig.LINK.search(text)
                  or re.search(r"[$€£₽]|\d+ ?(usd|eur|tl|rs)", text)), text.rstrip().endswith("?"))


def _abuse(lead: list[Turn]) -> str | None:
    text = sig.fold(" ".join(_window(t.text) for t in lead))
    scam_hits = len(sig.SCAM.findall(text))
    money_hits = len(sig.MONEY_PROMISE.findall(text))
    link = bool(sig.LINK.search(text)) or "@" in text or "whatsapp" in text
    if scam_hits >= 2 or (scam_hits and (link or money_hits)):
        return "scam"
    if money_hits >= 2 or (money_hits and link):
        return "spam"
    if any(sig.INJECTION.search(sig.fold(_window(t.text))) for t in lead):
        return "injection"
    return None


def _clean(text: str) -> str:
    """The text without its segments that try to steer a model."""
    if not sig.INJECTION.search(sig.fold(text)):
        return text
    return " ".join(s for s in _SEGMENT.findall(text) if not sig.INJECTION.search(sig.fold(s)))


def _window(text: str) -> str:
    """The part of a message the rules read: all of it up to READ_CHARS, else its start and its end (where
    a long DM says what it wants); the patterns cost time per character and a DM may hold 10,000."""
    if len(text) <= READ_CHARS:
        return text
    half = READ_CHARS // 2
    return f"{text[:half]} … {text[-half:]}"


def _found(turns: list[Turn], before: Before | None, injected: bool) -> list[str]:
    found: list[str] = []
    for turn in turns:
        found += _attachment_signals(turn)
        text = _clean(_window(turn.text))
        if injected:  # only real questions survive next to an injection
            text = " ".join(s for s in _SEGMENT.findall(text) if s.rstrip().endswith("?"))
        found += _text_signals(sig.fold(text.strip()), before)
    if found and set(found) <= {"engaged"} and all(len(t.text.split()) <= 2 for t in turns):
        ack = bool(sig.ACK.search(sig.fold(turns[-1].text.strip())))
        acked = ack and before is not None and (before.priced or before.asked)
        return ["ack" if acked else "short"]  # "ok" to a price, "yes" to a question, or just "cool"
    return found


def _attachment_signals(turn: Turn) -> list[str]:
    if turn.attachment == "audio":
        return ["audio"]
    if turn.attachment in ("image", "video", "file") and not turn.text.strip():
        return ["image"]
    if turn.attachment == "story_mention":
        return ["mention"]
    if turn.attachment and not turn.text.strip():
        return ["shared"]  # a post, reel or story sent without a word
    return []


def _text_signals(text: str, before: Before | None) -> list[str]:
    if not text:
        return []
    after_offer = before is not None and before.offered
    if not sig.LETTERS.search(text):
        if after_offer and sig.YES.search(text):
            return ["yes"]
        return ["question"] if "?" in text else ["emoji"]
    if sig.GREETING_ONLY.match(text):
        return ["greeting"]
    found = list(dict.fromkeys(name for name, rx in CHECKS if rx.search(text)))
    if sig.NOT_BUYING.search(text):
        found = [f for f in found if f != "buy"]
    if sig.PRICE_INCLUDES.search(text):
        found = [f for f in found if f != "price"] + ["question"]
    if sig.THANKS_ONLY.match(text):
        return ["thanks"]
    if after_offer and sig.YES.search(text) and len(text.split()) <= 6:
        found.append("yes")
    if before is not None and before.asked and len(text.split()) >= 4 and not set(found) & {"off_offer", "buy"}:
        found = [f for f in found if f != "fan"] + ["answer"]  # answering the creator's question: engaged
    if "off_offer" in found:  # asking about the creator's things, freebies or pitching: not the offer
        found = [f for f in found if f not in ("price", "buy", "available", "when", "question")]
    return found or ["engaged"]


def _rank(found: Iterable[str]) -> list[str]:
    unique = list(dict.fromkeys(found))
    return sorted(unique, key=lambda s: -LEVELS.get(s, 0))


# ---------------------------------------------------------------- deciding


@dataclass(frozen=True)
class Verdict:
    score: int
    sentiment: Sentiment
    why: list[str]  # signal names, the first is the main one
    age: str = ""


def decide(reading: Reading) -> ScoreResult:
    verdict = _verdict(reading)
    score = max(0, min(100, verdict.score))
    sentiment = verdict.sentiment
    if sentiment != Sentiment.ghosted:  # hot iff at the threshold; the same line the product draws
        sentiment = Sentiment.hot if score >= HOT_AT else (Sentiment.cold if score < COLD_BELOW else
                                                            Sentiment.unsure)
    elif score >= HOT_AT:
        score = HOT_AT - 1
    return _result(score, sentiment, verdict.why, verdict.age)


def _verdict(r: Reading) -> Verdict:
    age = _age(r.silent)
    if not r.lead_wrote:
        return Verdict(10, Sentiment.cold, ["no_reply"], age)
    if r.abuse in ("spam", "scam"):
        return Verdict(3 if r.abuse == "scam" else 5, Sentiment.cold, [r.abuse], age)
    interest = _interest(r)
    if r.creator_last and r.silent >= GHOST_AFTER:
        days = r.silent.days
        return Verdict(round(16 + interest * 0.25 - min(10, days / 3)), Sentiment.ghosted, ["ghosted", *r.signals],
                       age)
    if r.abuse == "injection":
        top = r.signals[0] if r.signals else "none"
        if LEVELS.get(top, 0) >= LEVELS["question"]:
            return Verdict(min(50, round(interest)), Sentiment.unsure, ["injection", *r.signals], age)
        return Verdict(6, Sentiment.cold, ["injection"], age)
    if not r.creator_last and r.silent >= STALE_AFTER:
        return _stale(r, interest, age)
    if r.no and not ({"paid", "buy", "yes"} & set(r.signals)):
        if "when" in r.signals:  # "not now, but when is the next one?"
            return Verdict(38, Sentiment.unsure, ["no", *r.signals], age)
        return Verdict(18 - min(8, r.silent.days), Sentiment.cold, ["no", *r.signals], age)
    if r.later and not {"paid", "buy", "yes"} & set(r.signals):  # "is there a spot? still thinking": not yet
        interest = min(interest, 70.0)
    decay = max(0.0, (r.silent.total_seconds() / 86400) - 3) * 3
    return Verdict(max(8, round(interest - min(25.0, decay))), Sentiment.unsure, r.signals, age)


def _stale(r: Reading, interest: float, age: str) -> Verdict:
    """The lead wrote last, weeks ago."""
    if r.later:
        return Verdict(round(20 + interest * 0.15), Sentiment.ghosted, ["ghosted", "later", *r.signals], age)
    if set(r.signals) & set(STRONG):
        return Verdict(round(50 + interest * 0.1), Sentiment.unsure, ["missed", *r.signals], age)
    return Verdict(15, Sentiment.cold, ["stale", *r.signals], age)


def _interest(r: Reading) -> float:
    """The strongest signal sets the level; the others, earlier interest and engagement add within it."""
    if not r.signals:
        return float(LEVELS["engaged"])
    if set(r.signals) <= {"emoji", "image", "mention", "shared"}:  # a photo or a story tag with emoji: a reaction
        return float(LEVELS["emoji"] if "emoji" in r.signals else LEVELS[r.signals[0]])
    if "shared" in r.signals and set(r.signals) <= {"shared", "engaged", "short"} and r.lead_words < 8:
        return float(LEVELS["shared"])  # a post shared with a few words ("this is so you 😂"): a reaction
    top = LEVELS.get(r.signals[0], 40)
    extra = min(6, sum(3 for s in r.signals[1:] if s in STRONG or s == "when"))
    extra += 3 if set(STRONG) & r.earlier else 0
    extra += min(6, 3 * r.voice_notes) + (3 if r.lead_words >= 40 else 0) + (2 if r.lead_messages >= 3 else 0)
    if r.signals[0] in ("emoji", "mention", "fan", "off_offer"):
        extra = min(extra, 8)
    ceiling = 98 if top >= HOT_AT else HOT_AT - 1
    return float(min(ceiling, top + extra))


def _age(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 1440:
        return f"{minutes // 60}h"
    return f"{minutes // 1440}d"


# ---------------------------------------------------------------- saying it

_TAGS = {
    "paid": "paid", "buy": "ready to buy", "yes": "accepted offer", "available": "booking", "price": "price question",
    "pay_method": "payment question", "when": "dates", "question": "question", "soft": "interested",
    "audio": "voice note", "ghosted": "ghosted", "missed": "missed reply", "later": "thinking it over",
    "no": "objection", "spam": "spam", "scam": "scam", "injection": "injection attempt", "fan": "fan",
    "off_offer": "not a buyer", "thanks": "polite no", "emoji": "low intent", "mention": "story mention",
    "stale": "went quiet",
    "no_reply": "no reply yet", "greeting": "just said hi", "image": "photo", "engaged": "conversation",
    "answer": "answered you", "ack": "acknowledged", "short": "short replies", "shared": "shared a post",
}
_SAYS = {
    "paid": "says they paid", "buy": "wants to buy or book", "yes": "said yes to your offer",
    "available": "asks for a slot or stock", "price": "asks the price", "pay_method": "asks how to pay",
    "when": "talks dates", "question": "asks about the offer", "soft": "is thinking about it",
    "audio": "sent a voice note", "later": "put it off", "no": "said no", "fan": "praise only",
    "off_offer": "not asking about your offer", "thanks": "only said thanks", "emoji": "emoji only",
    "mention": "story mention only",
    "greeting": "only said hi", "image": "sent a photo", "engaged": "chatting",
    "answer": "answered your question", "ack": "said ok to your price", "short": "short replies only",
    "shared": "shared a post without a word",
}
_NEXT = {
    "paid": "Confirm the payment and send the next steps",
    "buy": "Send the payment or booking link now", "yes": "Send the link or confirm the slot now",
    "available": "Offer two concrete slots or confirm stock", "price": "Reply with your price and a booking link",
    "pay_method": "Explain how to pay and send the link", "when": "Propose a date",
    "question": "Answer the question, then ask what they need", "soft": "Ask what is holding them back",
    "audio": "Listen to the voice note and reply", "ghosted": "Send one short follow-up, then let it rest",
    "missed": "Reply now: their question has waited weeks", "no": "Thank them and leave the door open",
    "spam": "Ignore it; do not open the links", "scam": "Ignore it; never send money or details",
    "injection": "Read it yourself: it tries to steer the scorer", "fan": "A quick thank-you is enough",
    "off_offer": "Answer if you like; no sale here",
    "thanks": "Leave it; offer help if anything changes", "emoji": "React back; no action needed",
    "mention": "Thank them for the mention", "stale": "No action needed", "no_reply": "Wait for a reply",
    "greeting": "Say hi and ask what they need", "image": "Look at the photo and reply",
    "engaged": "Ask what they are looking for", "answer": "Suggest the offer that fits their answer",
    "ack": "Ask if they have questions before they decide", "short": "No action needed",
    "shared": "React to it; no action needed",
}


def _result(score: int, sentiment: Sentiment, why: list[str], age: str) -> ScoreResult:
    main = why[0] if why else "engaged"
    tags = normalize_tags([_TAGS[w] for w in why if w in _TAGS], limit=MAX_TAGS_AI)
    said = [_SAYS[w] for w in dict.fromkeys(why) if w in _SAYS][:3]
    head = {"ghosted": "Silent since your last message", "missed": "Nobody answered them",
            "spam": "Spam: links or money promises", "scam": "Looks like a scam",
            "injection": "Tries to instruct the scorer", "stale": "Quiet for weeks",
            "no_reply": "The lead has not written"}.get(main)
    parts = ([head] if head else []) + said + ([f"last message {age} ago"] if age else [])
    reason = "; ".join(parts)
    return ScoreResult(score=score, sentiment=sentiment.value, tags=tags, next_action=clip(_NEXT[main], 200),
                       reason=clip(reason[:1].upper() + reason[1:], 200), scored_by="offline")


