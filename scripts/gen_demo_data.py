"""Generates the bundled demo Instagram accounts (core/demo/<niche>.json), deterministically.

Run: .venv/bin/python scripts/gen_demo_data.py   (same output every time; commit the JSON)
Times are stored as ages in seconds ("age_s"); core.demo.DemoGraph turns them into timestamps counted back
from the creator's demo anchor, so the demo account always looks current.

What a real inbox looks like, and what tests/test_demo_data.py checks: a creator greets a lead by the first
name of their display name (or by no name), greets once at the start of a conversation, never sends the
same message twice in a thread; leads have distinct names and usernames.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from collections import Counter
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "core" / "demo"
PER_ACCOUNT = 120
MIN, HOUR, DAY = 60, 3600, 86400

FIRST = ["Ashley", "Marco", "Priya", "Jonas", "Chloe", "Diego", "Aisha", "Liam", "Sofia", "Kenji", "Nora",
         "Mateo", "Hana", "Omar", "Emma", "Lucas", "Zara", "Ethan", "Mila", "Noah", "Ines", "Yusuf", "Freya",
         "Leo", "Amara", "Sven", "Lucía", "Tariq", "Maya", "Felix", "Olga", "Ravi", "Jade", "Hugo", "Keira"]
LAST = ["Perez", "Rossi", "Sharma", "Berg", "Martin", "Lopez", "Khan", "Walsh", "Costa", "Sato", "Novak",
        "Silva", "Kim", "Haddad", "Brown", "Meyer", "Ali", "Wright", "Ivanova", "Dubois", "Okafor", "Nguyen"]

# Per niche: "hot" opening asks; "greet" the creator's first answer (may name the lead); "reply" later answers
# (never a greeting); "follow" a lead's next question; "close" a lead's last word (paid, booked); "warm"
# questions without buying intent; "answer" the creator's reply to one; "outreach" the creator writing first;
# "ghost_ask" a nudge days later.
NICHES: dict[str, dict[str, object]] = {
    "fitness": {
        "account": ("17841400000000101", "coach.mia.fit", "Online fitness coach"),
        "hot": ["Hi! How much is your 12-week coaching program?", "Do you still have spots for 1:1 coaching?",
                "I'm ready to start. How do I pay?", "What's the price for the meal plan + training bundle?",
                "Can we do a call tomorrow? I want to sign up 🙌", "Is the January challenge still open? I'm in"],
        "greet": ["Hey {first}! The 12-week program is $249 with weekly check-ins 💪",
                  "Hi {first}! Yes, I have 3 spots left this month."],
        "reply": ["Yes, you can split it into 2 payments", "Here's the booking link: mia.fit/call",
                  "Love that! What's your main goal right now?", "Yes, nutrition coaching is part of it 🥗"],
        "follow": ["Does it include nutrition?", "Can I pay in 2 installments?",
                   "Amazing, my goal is to lose 8kg before summer"],
        "close": ["Perfect, booking now", "Sent the payment 🙌", "Paid! Can't wait to start 💪",
                  "Just booked the call for Thursday"],
        "warm": ["Do you do programs for beginners?", "Is this ok for someone with bad knees?",
                 "How long until I see results?", "Maybe after the holidays", "What equipment do I need?"],
        "answer": ["Hey {first}! Good question, the program adapts to any level 💪",
                   "Hi {first}! Happy to help, I'll send you a short video that explains it"],
        "outreach": ["Hey {first}! Thanks for the follow 💪 Are you training at the moment?",
                     "Hi {first}! Saw you liked the transformation post. Any goals for this year?"],
        "ghost_ask": ["Hey {first}, did you get a chance to look at the program?"],
    },
    "handmade": {
        "account": ("17841400000000202", "clay.and.wick", "Handmade ceramics & candles shop"),
        "hot": ["Is the blue glazed mug still available? I'd like two", "How much for a custom name necklace?",
                "Do you ship to Canada? I want to order the vase set", "Can I order 20 candles for my wedding?",
                "I'd love the speckled bowl set, how do I buy it?", "Do you take custom orders for gifts?"],
        "greet": ["Hi {first}! Yes, it's $38 each, and I ship worldwide 📦",
                  "Hey {first}! Custom orders take about 2 weeks. Want me to send options?"],
        "reply": ["For 20 candles I can do $15 each with custom labels ✨", "Here's the shop link: clayandwick.shop",
                  "Shipping to Canada is $12 and takes about a week 📦", "Yes, lavender is one of my favourites"],
        "follow": ["Can you do lavender scent?", "What's shipping to Toronto?", "Could they arrive before the 14th?"],
        "close": ["Great, ordering now!", "Just paid, thank you!! 💛", "Order placed 🙌",
                  "Paid for two, so excited!"],
        "warm": ["Are your glazes food safe?", "Do you have a market stall anywhere?",
                 "Will you restock the green ones?", "Maybe for Christmas", "How big is the medium planter?"],
        "answer": ["Hi {first}! Good question, I'll send you photos with the sizes ✨",
                   "Hey {first}! Happy to help, all details are in the shop highlights"],
        "outreach": ["Hi {first}! Thanks for following the shop 💛 New mugs drop on Friday",
                     "Hey {first}! The speckled bowls are back in stock if you were still looking"],
        "ghost_ask": ["Hi {first}! Still keeping the mug aside for you, let me know 😊"],
    },
    "tattoo": {
        "account": ("17841400000000303", "inkby.rae", "Fine-line tattoo artist"),
        "hot": ["How much for a small fine-line piece on the wrist?", "Do you have any openings in January?",
                "I want a half sleeve, can I book a consult?", "What's your deposit? I'm ready to book",
                "Can I get the flash design from your last post?", "Is your hourly rate still $150?"],
        "greet": ["Hey {first}! Small pieces start at $120, deposit is $50 🖤",
                  "Hi {first}! I have openings on Jan 9 and Jan 16."],
        "reply": ["The deposit holds your slot and goes toward the price", "Send me your reference and placement!",
                  "Booking form is in my bio, pick any open slot", "Sure, we can scale it up a little"],
        "follow": ["Here's my reference", "Can we make it a bit bigger?", "Does it hurt much on the ribs? 😅"],
        "close": ["Jan 9 works! Sending the deposit", "Deposit sent ✅", "Booked the 16th 🖤",
                  "Form filled and deposit paid"],
        "warm": ["Do you do cover-ups?", "How long does healing take?", "Do you tattoo over scars?",
                 "Maybe next year", "Do you travel for guest spots?"],
        "answer": ["Hey {first}! Good question, send me a photo and I'll tell you 🖤",
                   "Hi {first}! Happy to help, it's all in my FAQ highlight"],
        "outreach": ["Hey {first}! Thanks for the follow 🖤 Flash day is next Saturday",
                     "Hi {first}! A few January slots just opened up if you were thinking about a piece"],
        "ghost_ask": ["Hey {first}, want me to hold that Jan slot for you?"],
    },
}

COLD = ["ok", "k", "thanks", "cool", "nah", "👍", "maybe", "lol", "hm", "nice"]
SPAM = ["🔥 Get 10K real followers in 24h! DM @growth.boost.now", "Collab? Promote your page on our network 💰",
        "Crypto opportunity: 300% weekly returns, ask me how", "Hi dear, I saw your profile, let's be friends",
        "Your account violated our terms, verify here: meta-support-verify.example", "Want a free shoutout? 👉👈"]
FOREIGN = ["Hola! ¿Cuánto cuesta? Me interesa mucho 😍", "Oi! Quanto custa? Vocês entregam no Brasil?",
           "Hallo, bietest du das auch online an?", "مرحبا، كم السعر؟ هل يوجد شحن؟",
           "Привет! Сколько это стоит?", "Bonjour, c'est combien ? Merci !", "Ciao! Quanto costa?",
           "こんにちは！値段を教えてください"]
EMOJI = ["😍😍😍", "🔥🔥", "❤️", "🙌✨", "👀"]


def opaque(*parts: object) -> str:
    """Instagram ids are opaque base64-ish strings; derive stable ones."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return "aWdfZAG" + base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def person(rng: random.Random, i: int, niche: str, taken: set[str]) -> dict[str, object]:
    """A lead with a name and username no other lead of the account has; 70 % show a display name."""
    while True:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        handle = rng.choice([f"{first}.{last}", f"{first}_{last[0]}", f"{first}{rng.randint(1, 99)}",
                             f"the.{first}.{last}"]).lower().replace("í", "i").replace("ú", "u")
        if f"{first} {last}" not in taken and handle not in taken:
            taken.update({f"{first} {last}", handle})
            break
    number = int(hashlib.md5(f"{niche}{i}".encode()).hexdigest()[:12], 16) % 10**13
    lead: dict[str, object] = {"id": f"69{number:013d}", "username": handle}
    if rng.random() < 0.7:
        lead["name"] = f"{first} {last}"
    return lead


Step = tuple[str, str | None, str | None]


class Picker:
    """Texts for one thread: never the same one twice, a greeting names the lead only by their display name;
    across the account the least used text of a bank comes first (no two leads in a row saying the same)."""

    def __init__(self, rng: random.Random, bank: dict[str, object], name: object, seen: Counter[str]) -> None:
        self.rng, self.bank, self.used, self.seen = rng, bank, set(), seen
        self.first = str(name).split(" ")[0] if name else None

    def __call__(self, key: str) -> str:
        options = [t for t in self.bank[key] if t not in self.used]  # type: ignore[attr-defined]
        least = min(self.seen[t] for t in options)
        text: str = self.rng.choice([t for t in options if self.seen[t] == least])
        self.used.add(text)
        self.seen[text] += 1
        # No display name: the creator only knows the @handle and greets without a name ("Hey! …").
        return text.format(first=self.first) if self.first else text.replace(" {first}", "")

    def other(self, texts: list[str], k: int) -> list[str]:
        return self.rng.sample(texts, k)


def thread(rng: random.Random, kind: str, pick: Picker) -> list[Step]:
    """(sender, text, attachment) oldest first; sender is 'lead' or 'me'."""
    if kind == "hot":
        out = [("lead", pick("hot"), None), ("me", pick("greet"), None), ("lead", pick("follow"), None)]
        if rng.random() < 0.5:
            out += [("me", pick("reply"), None), ("lead", pick("close"), None)]
        return out
    if kind == "warm":
        return [("lead", pick("warm"), None), ("me", pick("answer"), None)] + (
            [("lead", pick("warm"), None)] if rng.random() < 0.6 else [])
    if kind == "cold":
        return [("me", pick("outreach"), None), ("lead", rng.choice(COLD), None)]
    if kind == "ghosted":
        return [("lead", pick("hot"), None), ("me", pick("greet"), None), ("me", pick("ghost_ask"), None)]
    if kind == "spam":  # spammers send a second, different pitch
        return [("lead", text, None) for text in pick.other(SPAM, rng.randint(1, 2))]
    if kind == "foreign":
        return [("lead", rng.choice(FOREIGN), None)] + ([("me", pick("greet"), None)] if rng.random() < 0.5 else [])
    if kind == "emoji":
        return [("lead", rng.choice(EMOJI), None)]
    return [("lead", None, rng.choice(["image", "video", "share", "audio"]))] + (
        [("lead", pick("hot"), None)] if rng.random() < 0.5 else [])


KINDS = [("hot", 22), ("warm", 20), ("cold", 20), ("ghosted", 20), ("spam", 12), ("foreign", 12),
         ("emoji", 6), ("attachment", 8)]
AGE = {"hot": (5 * MIN, 2 * DAY), "warm": (1 * HOUR, 6 * DAY), "cold": (2 * HOUR, 10 * DAY),
       "ghosted": (4 * DAY, 30 * DAY), "spam": (1 * HOUR, 20 * DAY), "foreign": (30 * MIN, 8 * DAY),
       "emoji": (10 * MIN, 3 * DAY), "attachment": (15 * MIN, 5 * DAY)}


def account(niche: str) -> dict[str, object]:
    rng = random.Random(f"leadgram-demo-{niche}")
    bank = NICHES[niche]
    acc_id, username, label = bank["account"]  # type: ignore[misc]
    kinds = [k for k, n in KINDS for _ in range(n)]
    rng.shuffle(kinds)
    convs, taken, seen = [], set(), Counter[str]()
    for i, kind in enumerate(kinds[:PER_ACCOUNT]):
        lead = person(rng, i, niche, taken)
        if i % 41 == 7:
            lead["listed"] = False  # its participant entry has no username: the profile call fills it in
        lo, hi = AGE[kind]
        age = lo + int((hi - lo) * rng.random() ** 2)  # skewed recent: an active inbox
        msgs = []
        steps = thread(rng, kind, Picker(rng, bank, lead.get("name"), seen))
        for j, (sender, text, att) in enumerate(reversed(steps)):  # newest first
            msgs.append({"id": opaque(niche, i, j), "from": sender, "text": text, "attachment": att,
                         "omit_text": att is not None and j % 2 == 0, "age_s": age})
            age += rng.randint(2 * MIN, 20 * HOUR if kind != "ghosted" else 3 * DAY)
        convs.append({"id": opaque(niche, "conv", i), "kind": kind, "lead": lead, "messages": msgs})
    return {"account": {"id": acc_id, "username": username, "label": label}, "conversations": convs}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for niche in NICHES:
        path = OUT / f"{niche}.json"
        path.write_text(json.dumps(account(niche), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(path.relative_to(OUT.parent.parent))


if __name__ == "__main__":
    main()
