"""What the offline scorer looks for in a DM, in the languages creators' leads write in.

Patterns run on folded text (lowercase, Latin accents removed: "preço" -> "preco"), so they are written
without accents. Latin-script words use \\b; Cyrillic too. Devanagari, Arabic and Japanese patterns have no
\\b (their vowel signs and particles break word boundaries), so they are kept specific.
"""

from __future__ import annotations

import bisect
import re
import unicodedata

# ---------------------------------------------------------------- folding


def fold(text: str) -> str:
    """Lowercase, NFKC, drop accents from Latin letters only (Devanagari vowel signs are marks too), and
    spell chat shorthand out."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).lower())
    out: list[str] = []
    for ch in decomposed:
        if unicodedata.combining(ch) and out and "a" <= out[-1] <= "z":
            continue
        out.append(ch)
    # Turkish dotless ı is its own letter: "nasıl" must read as "nasil".
    return _informal(unicodedata.normalize("NFC", "".join(out)).replace("’", "'").replace("ı", "i"))


# Chat spelling -> the words the patterns know ("i wanna join ur program hw do i pay").
_INFORMAL = {"wanna": "want to", "gonna": "going to", "tryna": "trying to", "gotta": "got to", "ur": "your",
             "u": "you", "r": "are", "hw": "how", "pls": "please", "plz": "please", "thx": "thanks",
             "nvm": "never mind", "rn": "right now", "dm": "message", "im": "i'm", "ill": "i'll", "id": "i'd"}
_INFORMAL_RX = re.compile(r"\b(" + "|".join(_INFORMAL) + r")\b(?![$'])")


def _informal(text: str) -> str:
    return _INFORMAL_RX.sub(lambda m: _INFORMAL[m.group(1)], text)


def _rx(*parts: str) -> re.Pattern[str]:
    """One pattern for a lexicon. Alternatives that start at a word boundary share one leading \\b, so the
    engine rejects a mid-word position with one check instead of trying every alternative there (a 10,000
    character DM would otherwise take seconds). Text is folded to lowercase first, so no IGNORECASE."""
    worded = [p[2:] for p in parts if p.startswith(r"\b")]
    anywhere = [p for p in parts if not p.startswith(r"\b")]
    branches = ([r"\b(?:" + "|".join(f"(?:{p})" for p in worded) + ")"] if worded else []) + \
        [f"(?:{p})" for p in anywhere]
    return re.compile("|".join(branches))


# ---------------------------------------------------------------- buying signals

# Paid, or paying right now: the strongest signal there is.
PAID = _rx(
    r"\b(i|i'?ve|we|just|already|i just) (just )?paid\b", r"^paid\b", r"\bsent (it|the (payment|money|deposit))\b",
    r"\bsent ✅", r"^done[!. ]",
    r"\b(payment|deposit|transfer) (is )?(sent|done|made)\b", r"\bsending the deposit\b",
    r"\bi'?ll transfer (today|now|tonight)\b", r"\btransferred\b",
    r"\bfiz o pix\b", r"\bpix feito\b", r"\bpaguei\b", r"\bfatto il bonifico\b", r"\bho pagato\b", r"\bpagado\b",
    r"\bya (te )?pague\b", r"\bj'ai paye\b", r"\bhabe (schon )?(bezahlt|uberwiesen)\b",
    r"оплатил", r"перевел", r"перевёл", r"\bodeme yaptim\b", r"dekont", r"تم الدفع", r"حولت",
    r"payment kar (diya|di)", r"भुगतान कर दिया",
)

# "I want it": buying, booking, joining, ordering, accepting, in every language of the set.
BUY = _rx(
    # English
    r"\b(i'?d|i would|i) (like|love|want|wanna) to (buy|order|book|join|sign up|enrol+|register|start|"
    r"purchase|commission|hire|go ahead|get (one|it|started)|reserve|do the|take|continue|grab|pay)\b",
    r"\b(i want|i'?ll take|i'?ll have|i'?ll get|i need) (in|it|one|this|that|the|a |an |\d|both|two|three)",
    r"\bwant in\b", r"\bwant to (order|buy|book|join|sign up|start|reserve|purchase)\b", r"\bi'?m in\b(?!\s+[a-z])",
    r"\bcount me in\b", r"\bsign me up\b", r"\blet'?s (do it|go|book)\b",
    r"\bgo ahead\b", r"\b(ready|decided) to (start|commit|buy|sign|book|go|join)\b", r"\bready to sign\b",
    r"\bi'?m ready\b", r"\bconvinced\b",
    r"\b(booking|buying|ordering|paying|signing up|joining) (now|it|today|tonight)\b", r"\bbuying it\b",
    r"\b(can|could) i (buy|order|book|get|reserve|pay)\b",
    r"\bhow (do|can) (i|we) (pay|join|order|book|sign up|start|buy|get (one|it|started)|get started|enrol+)\b",
    r"\bhow do we start\b", r"\bwhat'?s the next step\b", r"\bwhat (happens|do i do) (now|next)\b",
    r"\b(send|give) me the (link|invoice|contract|payment|form)\b", r"\bsend (me )?(the|an|your) "
    r"(link|invoice|contract|proposal|payment link|booking form)\b", r"\bsend (an )?invoice\b",
    r"\b(hold|reserve|save) (it|one|me|a spot|my spot|the)\b", r"\bsave me a spot\b", r"\bi'?ll send it then\b",
    r"\b(want|like) to book\b", r"\bbook (a|the|my|an|4|\d+)\b", r"\bi'?d like to view\b", r"\bwe'?re ready\b",
    r"\bcan you (do|make) (it|that|this)\b", r"\bi need (this|it|one|\d+)\b",
    r"\bprocess my order\b", r"\bplace an order\b",
    r"\bwe need a\b", r"\bperfect\b.{0,40}\b(pay|payment|go ahead|start)\b",
    r"\bwould love to (view|book)\b", r"\b(delivered|delivery) by\b",
    # Spanish
    r"\bquiero (empezar|comprar|reservar|contratar|inscribirme|apuntarme|encargar|pedir|el|la|un|una)\b",
    r"\bme apunto\b", r"\bya me decidi\b", r"\bpasame el (link|enlace)\b", r"\bcomo (te )?pago\b",
    r"\bpara inscribirme\b", r"\breservar una cita\b", r"\bte mando la sena\b", r"\bme viene (bien|genial)\b",
    r"\bperfecto\b.{0,30}\b(martes|lunes|miercoles|jueves|viernes|sabado|domingo)\b",
    # Portuguese
    r"\bquero (comprar|agendar|fechar|encomendar|contratar|o|a|um|uma|participar|comecar)\b", r"\bfechado\b",
    r"\bqueria (agendar|encomendar|comprar|fechar|marcar)\b", r"\bmanda a chave pix\b", r"\bchave pix\b",
    r"\bpode mandar (o link|a chave)\b",
    # Italian
    r"\b(voglio|vorrei) (iscrivermi|comprare|prenotare|prendere|ordinare|acquistare|fare il|il|la)\b",
    r"\bcome faccio a pagare\b", r"\bprendo\b", r"\bposso pagare\b",
    # French
    r"\bje (veux|voudrais)( absolument| vraiment)? (m'inscrire|acheter|reserver|commander|en faire partie|participer|"
    r"commencer|le|la|les)\b",
    r"\bje m'inscris\b", r"\bprete? a me lancer\b", r"\blien de paiement\b", r"\bje prends\b",
    r"\bfaire un devis\b", r"\bun devis\b",
    # German
    r"\bich (mochte|will|wurde gerne?) (mich anmelden|bestellen|buchen|kaufen|das|den|die|ihn|es)\b",
    r"\b(gerne|gern) (bestellen|kaufen|buchen)\b", r"\bwurde (ihn|es|sie) (heute )?(noch )?kaufen\b",
    r"\bmochte mich anmelden\b",
    # Russian
    r"хочу (купить|записаться|заказать|оплатить|начать|портрет)", r"как (можно )?оплатить", r"куда переводить",
    r"я в деле", r"беру", r"оформить заказ",
    # Turkish
    r"\bsiparis (vermek|verebilir)", r"\bkatilmak istiyorum\b", r"\brandevu almak\b", r"\brezervasyon\b",
    r"\biban\b", r"\bsatin almak\b", r"\bodeme nasil\b",
    # Arabic
    r"أريد أن أطلب", r"أريد الاشتراك", r"أريد حجز", r"نريد الحجز", r"كيف أدفع", r"الدفع عند الاستلام",
    # Hindi / Hinglish
    r"\bjoin karna\b", r"\bbook karna\b", r"\bpayment kaise\b", r"\bupi\b", r"बुक करना", r"एडवांस",
    # Polish, Indonesian, Dutch, Japanese, Vietnamese
    r"\bchcial(a|abym|bym) kupic\b", r"\bkupic\b", r"\bzamowic\b",
    r"\bmau (order|pesan|beli)\b", r"\baku mau (order|pesan|beli)\b", r"\bbisa transfer\b",
    r"\bwil (hem|het|ze|deze)? ?(graag )?kopen\b", r"\bgraag kopen\b", r"\bbestellen\b",
    r"購入したい", r"注文したい", r"予約したい", r"\bcho minh dat\b", r"\bdat \d", r"\bmua\b",
)

# Asking how or where to pay, in any language: a buyer.
_HOW = (r"(how|where|como|donde|onde|dove|come|ou|wie|wo|как|куда|где|nasil|nereden|كيف|وين|ازاي|kaise|kaha|gimana|"
        r"bagaimana|jak|hoe)")
_PAY = (r"(pay|paid|payment|pagar|pago|pague|pagamento|pagare|pago|payer|paie|paiement|bezahlen|zahlen|"
        r"оплат|плат|перевод|odeme|ode|دفع|ادفع|أدفع|pay karu|payment|bayar|transfer|zaplac|betalen|order|bestell|"
        r"commander|ordinare|encomendar|заказ|siparis)")
_HOW_RX = re.compile(rf"\b{_HOW}\b")
_PAY_RX = re.compile(_PAY)


class _Near:
    """A "how/where" word followed within 30 characters by a pay/order word, or a pay/order word followed within
    12 by "how/where". Two linear scans and a bisect, where one regex with `.{0,30}` between the two word lists
    backtracks for seconds on "how how how ..."."""

    def search(self, text: str) -> bool:
        hows = [(m.start(), m.end()) for m in _HOW_RX.finditer(text)]
        if not hows:
            return False
        pays = [(m.start(), m.end()) for m in _PAY_RX.finditer(text)]
        return _within(hows, [p[0] for p in pays], 30) or _within(pays, [h[0] for h in hows], 12)


def _within(firsts: list[tuple[int, int]], second_starts: list[int], gap: int) -> bool:
    """Some `second` starts at most `gap` characters after the end of some `first` (starts are sorted)."""
    for _, end in firsts:
        i = bisect.bisect_left(second_starts, end)
        if i < len(second_starts) and second_starts[i] - end <= gap:
            return True
    return False


PAY_HOW = _Near()

# Taking it: commitment words that need no verb of wanting.
TAKE = _rx(
    r"\btake my money\b", r"\bcheckout\b", r"\bapplication form\b", r"\b(want|like|love) to apply\b",
    r"\bready to (pay|order|book|buy)\b", r"готов[аы]? (оплатить|купить|начать|записаться)", r"реквизит",
    r"\b(just|i|i'?ve|we'?ve|we) (just )?(booked|signed up|ordered|registered)\b",
    r"\bi'?m sold\b", r"\block it in\b",
    r"\b(book|put|pencil|sign|squeeze|fit) me (in|down|up)\b",
    r"\bbook me\b", r"\breserve (me|one|it)\b", r"\bsecure (my|a) (spot|place|seat)\b", r"\bgrab (it|one|a spot)\b",
    r"\bwhen can (we|i|you) start\b", r"\blet'?s work together\b", r"\bwhat'?s the (first|next) step\b",
    r"\b(i|we|we both|both of us) (really )?(want|would like|'d like) (to )?(do it|join|start|sign up|buy|book|order|"
    r"get (it|one|this|that|started))\b", r"\bwant to get (this|that|one|it)\b",
    r"\b(like|love|want) to do (your|the)\b",
    r"\bdo i pay (through|on|by|via|here|with|online)\b", r"\bwie bestelle ich\b", r"\bich hatte gerne\b",
    r"\bvorremmo (prenotar|prendere|ordinare|comprare|iscriver)", r"\bich (mochte|will)\b.{0,40}\b(starten|anfangen|"
    r"beginnen|buchen|bestellen|kaufen|anmelden)\b",
    r"\b(we'?d|we would|we) (love|like) to (book|order|hire|buy|go ahead|sign)\b", r"\bto confirm\?",
    r"\b(send|give) me (the|a|your) (payment )?link\b", r"\b(payment|pagamento|pago|paiement) ?link\b",
    r"\blink de (pagamento|pago)\b", r"\bme manda o link\b", r"\b(mandame|pasame|enviame) el link\b",
    r"\bschick mir (mal )?(den|einen) link\b", r"\bich will (direkt |sofort |gleich )?(starten|anfangen|loslegen|"
    r"mitmachen|bestellen|buchen|kaufen)\b", r"\bcan we start\b", r"\bi'?ll take (two|three|\d|both|one|it|them|the)\b",
    r"\bme lo (llevo|apartas|guardas)\b", r"\bme (apartas|guardas)\b", r"\blo quiero\b", r"\bpodemos empezar\b",
    r"\bgarantir (minha |a )?vaga\b", r"\bme inscreve\b", r"\bcomo faco (pra|para) (comprar|garantir|entrar)\b",
    r"\bpodemos comecar\b", r"\bci sto\b", r"\blo prendo\b", r"\bpossiamo iniziare\b", r"\bme lo tieni\b",
    r"\bje (le|la|les) prends\b", r"\bon peut commencer\b", r"\bich bin dabei\b", r"\bnehme ich\b",
    r"\bich nehme\b", r"\bkonnen wir (starten|anfangen|loslegen)\b", r"беру", r"записат", r"забронир",
    r"хочу участвовать", r"\baliyorum\b", r"\balmak istiyorum\b", r"احجز", r"أحجز", r"نحجز", r"ابي احجز",
    r"\bchahiye\b", r"\bkaise order\b", r"\border karna\b", r"\bkharidna\b", r"اشترك", r"عايز", r"\bmau dong\b",
    r"\bcara order", r"\bcount me in\b",
)

# A question about money: price, cost, rate, quote, total.
PRICE = _rx(
    r"\bhow much\b", r"\bprice\b", r"\bprices\b", r"\bpricing\b", r"\bcost\b", r"\bcosts\b", r"\bfee\b",
    r"\b(your|the|what'?s? your) rates?\b", r"\brates? for\b", r"\bquote\b", r"\bthe total\b", r"\bdeposit\b",
    r"\bcuanto (cuesta|es|sale|cobras|vale)\b", r"\bprecio\b", r"\bsena\b",
    r"\bquanto (custa|fica|e|sai|cobra)\b", r"\bpreco\b", r"\bvalor\b",
    r"\bquanto costa\b", r"\bprezzo\b", r"\bcosto\b",
    r"\bcombien\b", r"\bprix\b", r"\btarif\b", r"\bdevis\b",
    r"\bwie ?viel\b", r"\bwas kostet\b", r"\bpreis\b", r"\bkosten\b", r"\bkostet\b",
    r"сколько стоит", r"сколько будет стоить", r"цена", r"стоимость",
    r"\bfiyat", r"\bne kadar\b", r"\bucret", r"\bkapora\b",
    r"كم السعر", r"السعر", r"بكم",
    r"\bkitne ka\b", r"\brate kya\b", r"\bkitna\b", r"कितना", r"कितने", r"कीमत",
    r"\bile kosztuje\b", r"\bcena\b", r"\bberapa\b", r"\bharga\b", r"\bhoeveel\b", r"\bprijs\b",
    r"いくら", r"値段", r"価格", r"料金", r"\bgia bao nhieu\b",
)

# Ways to pay (a lead naming one is close to buying).
PAY_METHOD = _rx(
    r"\bpaypal\b", r"\bbizum\b", r"\bpix\b", r"\bupi\b", r"\biban\b", r"\bbonifico\b", r"\bbank transfer\b",
    r"\bpay(ment)? plans?\b", r"\binstal+ments?\b", r"\bpayer en \d", r"\bpor transferencia\b",
    r"\bpay in (\d|two|three)\b", r"\bself pay\b", r"\b(apple|google) pay\b", r"\bcod\b", r"\bcash on delivery\b",
    r"\bvenmo\b", r"\bzelle\b",
    r"\bklarna\b", r"\brevolut\b", r"\bcash\b", r"\binsurance\b", r"\bexpress\b", r"\bcard\?",
)

# Dates, slots and availability.
WHEN = _rx(
    r"\bavailable\b", r"\bavailability\b", r"\bany (dates|slots|openings?)\b", r"\bslots?\b", r"\bopenings?\b",
    r"\bnext (cohort|round|session|week|opening)\b", r"\bthis (week|weekend|month)\b", r"\btomorrow\b",
    r"\b(mon|tues|wednes|thurs|fri|satur|sun)day\b", r"\b\d{1,2}(st|nd|rd|th)\b",
    r"\b(january|february|march|april|may|june|july|august|september|october|november|december)\b",
    r"\bwhen (does|do|is|can)\b", r"\bby (friday|saturday|the \d|june|may)\b", r"\d ?(am|pm)\b",
    r"\bdisponible\b", r"\bhueco\b", r"\bla semana que viene\b", r"\bcita\b", r"\bcuando\b",
    r"\bdisponivel\b", r"\bhorario\b", r"\bquinta\b", r"\bsabado\b", r"\bquando\b",
    r"\bdisponibile\b", r"\bposto\b", r"\bprossima settimana\b", r"\boggi\b",
    r"\bprochaine session\b", r"\bquand\b", r"\btermine?\b", r"\bdiese(n)? (woche|monat)\b", r"\bfrei\b",
    r"\bverfugbar\b", r"\bnoch (frei|da)\b", r"\bк \d+", r"\bкогда\b", r"\bmusait\b", r"\bcumartesi\b",
    r"موعد", r"متاح", r"\bavailable ho\b", r"\bbeschikbaar\b", r"\bmasih ada\b",
    r"\bstill (available|there|have)\b", r"\bsize \w+\b", r"\bin size\b", r"\bgroße\b", r"\bgrosse\b",
    r"\bbeden\b", r"\bразмер", r"\bnos casamos\b", r"\bgetting married\b", r"\bwedding is\b",
)

# Asking whether there is room: a slot, a date, stock. For a service or a shop this is booking.
AVAILABLE_ASK = _rx(
    r"\b(are|is) (you|it|this|that|the [\w ]{1,25}?|this one|there) (still )?available\b",
    r"\bstill available\b", r"\b(do|would) you have (anything|a spot|any (time|slots?|dates|room|openings?)|time|"
    r"space|room)\b", r"\bany (dates|slots|openings?|spots?) (in|on|for|this|next|left)\b",
    r"\b(is there|are there) (still )?(a |any )?(spots?|places?|room|slots?)\b", r"\bwhen'?s your next opening\b",
    r"\bwhen (does|do|is) the next (cohort|round|session|intake|class|batch)\b",
    r"\bprochaine (session|cohorte|formation)\b.{0,25}\bquand\b", r"\bquand\b.{0,25}\bprochaine (session|cohorte)\b",
    r"\bnext (cohort|round) start",
    r"\bis (saturday|sunday|monday|tuesday|wednesday|thursday|friday) possible\b",
    r"\bwhat'?s the earliest\b", r"\bsei liber[oa]\b", r"\bwann hast du zeit\b", r"\bwhen are you (free|available)\b",
    r"\bare you free\b",
    r"\bearliest (date|slot|time|opening)\b",
    r"\bdo you have anything (for|this|on|tomorrow)\b",
    r"متاحين", r"\bainda tem vaga\b", r"\btem vaga\b", r"\bhay plazas?\b", r"\bhai posto\b",
    r"\btienes hueco\b", r"\bestas disponible\b", r"\btem horario\b", r"\btem como\b", r"\bavete posto\b",
    r"\bsei disponibile\b", r"\bhattest du .{0,30}termin", r"\bnoch (einen )?termin", r"\bmusait misiniz\b",
    r"هل أنت متاح", r"هل يوجد وقت", r"\baap available\b", r"\bmasih ada\b", r"\bnog beschikbaar\b",
    r"\bnoch verfugbar\b", r"\bdisponible\b.{0,20}\?", r"\bcan you do it\b",
)

# Thinking about it, not asking yet.
SOFT = _rx(
    r"\b(maybe|thinking about|considering|one day|someday|been thinking|might)\b.{0,40}\b(try|join|buy|book|"
    r"program|course|coaching|sell|order)\b", r"\bi'?m interested\b", r"\binterested in\b", r"\bme interesa\b",
    r"\bcollecting quotes\b", r"\bexploring\b", r"\bnot sure\b",
)

# Asking about the offer: what it includes, how it works, whether it fits.
QUESTION = _rx(
    r"\?", r"\bdo you (do|have|make|offer|ship|work|take|use)\b", r"\bdoes it\b", r"\bis (it|there|this)\b",
    r"\bwhat'?s the difference\b", r"\bhow long\b", r"\bhow many\b", r"\bwhat does\b",
)

# A short "yes" to the creator's offer ("shall I book you?" -> "👍").
YES = _rx(
    r"^(yes|yess+|yep|yeah|sure|ok|okay|okey|absolutely|of course|definitely|deal|great|perfect)\b",
    r"^(si|sim|claro|dale|vale|oui|ja|evet|da|да|haan|ha|tak|iya|ya)\b", r"^(👍|👌|✅|🙌|💯)",
)
CREATOR_OFFER = _rx(
    r"\b(want|shall|should) (me to|i) (send|book|lock|hold|reserve|schedule)\b", r"\bshall i\b",
    r"\bwant (the|my) (link|booking form|form)\b", r"\bwant to (book|go ahead|start)\b", r"\bsign-?up link\b",
    r"\bi can lock\b", r"\bte (paso|mando) (el )?link\b", r"\bquer agendar\b", r"\bti mando il link\b",
    r"\bsoll ich\b", r"\bwould a quick call help\b", r"\bi have slots\b",
)

# ---------------------------------------------------------------- against

# "No": declined, not now, too expensive, went elsewhere, stop.
NO = _rx(
    r"\bno thanks?\b", r"\bnot interested\b", r"\bnot (for me|right now|now)\b", r"\bmaybe (later|next year|after)\b",
    r"\btoo (expensive|pricey|much)\b", r"\b(way )?more than i can\b", r"\bcan'?t afford\b", r"\bnever ?mind\b",
    r"\b(found|went with|booked|chose) (a|another|someone)\b", r"\bstop (sending|messaging|dm)",
    r"\bplease stop\b", r"\bunsubscribe\b", r"\brefund\b", r"\bwrong (account|person)\b", r"\bsaid not now\b",
    r"\bnot ready\b", r"\bno budget\b", r"\bthanks anyway\b", r"\bthank you anyway\b",
    r"\bno gracias\b", r"\bno me interesa\b", r"\bahora (mismo )?no\b", r"\bno puedo\b", r"\bmas adelante\b",
    r"\bnao quero\b", r"\bcaro demais\b", r"\bnao vai dar\b", r"\bnon mi serve\b", r"\bnon mi interessa\b",
    r"\bnon merci\b", r"\bpas pour le moment\b", r"\bdeja trouve\b", r"\bzu teuer\b", r"\bzu viel\b",
    r"\bnein danke\b", r"\bleider\b", r"\bgood luck with that\b", r"\brip-?off\b", r"\boverpriced\b",
    r"\b(hasn'?t|has not|never|still not) (arrived|come|shipped)\b", r"\bridiculous\b", r"\bdisappointed\b",
    r"\b(fake|photoshopped|fraud|liar|clown|pathetic)\b", r"\b(is|are|it'?s|its) a scam\b",
    r"\bchanged my mind\b", r"\b(jetzt|gerade) (gerade )?nicht\b", r"\bvielleicht (im|nachstes|spater)\b",
    r"\bpas pour moi\b", r"\bcan'?t commit\b", r"отпиш", r"\babsolutely not\b",
    r"\bcan'?t (book|make it|go ahead|do it)\b", r"\b(he|she|mum|mom|dad|wife|husband|boss|partner) said no\b",
    r"\bnot happy\b", r"\b(broke|broken) already\b",
    r"\bended up (ordering|going|booking|buying|choosing)\b",
    r"\balready (signed up|booked|ordered|bought) (with|from)\b",
    r"\b(out of|over) (my|our) budget\b", r"\bsomeone cheaper\b", r"\bcon otra\b", r"\bcon otro\b", r"\bcom outra\b",
    r"не интересно", r"нет, спасибо", r"\bpahali\b",
    r"\bvazgectim\b",
    r"لا أريد", r"\b(abhi|nahi) (nahi|chahiye|bhai)\b", r"\bbudget nahi\b", r"ज़रूरत नहीं", r"ज़रूरत नही", r"नहीं है",
)

# "I don't want to buy": cancels the buying words it contains.
NOT_BUYING = _rx(
    r"\b(don'?t|do not|not) (want|looking) to (buy|book|order|join|sign up|commit)\b",
    r"\b(nao|no) (quero|quiero) (comprar|nada)\b",
    r"\bnon voglio\b", r"\bне хочу\b", r"\bich will nicht\b", r"\bje ne veux pas\b",
)
# "Does the price include ...": a question about the offer, not about the price.
PRICE_INCLUDES = _rx(
    r"\b(price|prices|precio|preco|prezzo|prix|preis|fiyat\w*)\b.{0,20}\b(include|includes|incluye|inclui|"
    r"comprende|inclus|enthalt|dahil)\b",
)

# Putting it off: fine when recent, a ghost when weeks old.
LATER = _rx(
    r"\b(let me|i'?ll|i will|need to|i need to) (think|check|talk|ask|get back|come back|look)\b",
    r"\bthink about it\b", r"\bcome back to you\b", r"\bget back to you\b", r"\bon payday\b",
    r"\bthis weekend\b", r"\bce week-end\b", r"\blo pienso\b", r"\bte digo\b", r"\bvou pensar\b",
    r"\bte falo\b", r"बाद में", r"\bbaad mein\b", r"\bcheck with\b", r"\bi'?ll look at it\b", r"\bmelde mich\b",
    r"\b(to|tô|estou|estoy|i'?m|still) (pensando|thinking)\b", r"\bci penso\b", r"\bje reflechis\b", r"\bbespreche\b",
    r"\bdiscuss (it )?with\b",
    r"\bsounds good\b", r"\bje commande\b", r"\bi'?ll order\b",
)

# Not a lead for the offer: fans, freebies, other creators, salespeople, questions about the creator's things.
OFF_OFFER = _rx(
    r"\bfor free\b", r"\bfree (beat|meal plan|drawing)\b", r"\bcan'?t pay but\b", r"\bcollab\b", r"\bshoutout\b",
    r"\bwhere did you get\b", r"\bhow much did (that|your|the)\b", r"\bwhat (shoes|brand)\b",
    r"\bwith another\b", r"\bother (artist|photographer|coach|tutor)\b",
    r"\bour (crm|software|agency|app|platform|team)\b", r"\bon your calendar\b", r"\bjust (wanted|starting)\b",
    r"\bkeep going\b", r"\blove your (content|videos|work|feed)\b", r"\bfollowers\b",
    r"\bi'?m a coach too\b", r"\bjust tell me\b",
    r"\b(what|which) (camera|phone|lens|mic|app|editing app|brand|shoes|sneakers) (do|did) you\b",
    r"\bhow much do you (make|earn)\b", r"\btutorial\b", r"\brecipe\b", r"\bpodcast\b",
    r"\bcome on as a guest\b", r"\bhiring\b", r"\bpick your brain\b", r"\bfree of course\b", r"\binterns?(hip)?\b",
    r"^@\w+", r"\bhow much did you (make|earn|pay)\b",
    r"\bchiedo per\b",
    r"\bpara una amiga\b", r"\bfor a friend\b",
)

# ---------------------------------------------------------------- abuse

LINK = _rx(r"https?://", r"\bwww\.", r"\b[\w-]+\.(com|net|io|biz|co|help|info|xyz|store|org)\b",
           r"\b(t\.me|wa\.me|bit\.ly|line\.me|tinyurl)\b")
MONEY_PROMISE = _rx(
    r"\b(earn|earned|make|made|making|win|won|profit|ganhe|gane|gana|ganar)\b.{0,25}(\$|€|₽|r\$|£|\d{3,})",
    r"(\$|€|r\$)\s?\d[\d,.]*\s?(k|000)?.{0,25}\b(week|month|day|weekly|per|por mes|por mês)\b",
    r"\bbitcoin\b", r"\bbtc\b", r"\bcrypto\b", r"\bforex\b", r"\btrading\b", r"\beth\b", r"\bnft\b",
    r"\bgiveaway\b", r"\bwinner\b", r"\bclaim (your|the)? ?prize\b", r"\bcongratulations\b", r"\bguarantee",
    r"\breal followers\b", r"\bstreams\b", r"\bbrand ambassador\b", r"\bcasino\b", r"\bbonus\b",
    r"\d+ ?% (weekly|daily|monthly|returns?|profit)", r"\breturns\b", r"\bopportunity\b", r"\bask me how\b",
    r"\bour (network|theme page|theme account)\b", r"\bseo\b", r"\bpassive income\b",
    r"\b\d+k? ?(seguidores|followers|abonnes|подписчиков)\b", r"\bboost your\b", r"\b\d+x\b",
    r"\bfree trial\b", r"\bfrom home\b",
    r"\bshow you how\b", r"\b(\$|€)\d+ (daily|a day|per day)\b", r"\bbacklinks?\b", r"\bexclusive content\b", r"🔞",
    r"\blink in bio\b", r"\bqualified .{0,10}leads\b", r"\bmoney back\b",
    r"\brenda extra\b", r"\bmudou minha vida\b",
    r"заработок", r"без вложений", r"казино", r"выигрыш", r"\bbahis\b", r"\bdeneme bonusu\b",
    r"副業", r"稼げる", r"\bpromote your\b", r"\bper post\b", r"\b\$\d+/hour\b", r"\bcheap price\b",
)
SCAM = _rx(
    r"\bwill be (deleted|disabled|suspended)\b", r"\bviolated\b", r"\bappeal\b", r"\bverify\b",
    r"\bdomain expires\b", r"\burgent", r"\bescrow\b", r"\bwired?\b.{0,30}\b(today|account)\b",
    r"\bbank details\b", r"\bshipping agent\b", r"\bcertified check\b", r"\bsend the extra\b",
    r"\bbuy your (instagram|ig|account|page)\b", r"\bmanufacturer\b", r"\bmoq\b", r"\bwe supply\b",
    r"\bwe provide\b", r"\bkindly\b", r"\bdear (sir|business owner|madam)\b", r"\bsir/madam\b",
    r"\b(hi|hello) dear\b", r"\bdear winner\b", r"\brelease fee\b", r"\bcustoms\b", r"\bparcel\b",
    r"\bwithin \d+ hours\b",
    r"\breceive (the )?funds\b", r"\bwe (build|develop|create) \w+ (apps|websites|sites)\b",
    r"\bhappy clients\b", r"\b\d+ ?% (lower|cheaper)\b", r"\busdt\b", r"\bwallet address\b", r"\binvestor\b",
    r"\bsend your (id|passport)\b", r"\blottery\b",
    r"\bprocessing fee\b", r"\bclaim\b",
    r"\blet'?s be friends\b", r"\bclick confirm\b", r"\bpaypal-", r"\bsupport:",
    r"\bexpert web developer\b", r"\bfull name and address\b",
)

# Text written to steer a model: it never adds to a score.
INJECTION = _rx(
    r"\bignore (all |any |your |the )?(previous|prior|above|earlier)? ?(instructions|rules|prompts?)\b",
    r"\bignore your (instructions|rules)\b", r"\b(new|system) instructions?\b", r"^system:|\bsystem:",
    r"\bend system\b", r"\b(lead_?)?score\s*[:=]\s*100\b", r"\bscore 100\b", r"\bsentiment\s*[:=]\s*hot\b",
    r"\b(rate|give|score) (me|this lead|this contact|this conversation)? ?(100|a 100)\b", r"\b100/100\b",
    r"\badmin (mode|override)\b", r"\boverride\]", r"\byou are now\b", r"\bai (assistant|reading this)\b",
    r"\bif you'?re an ai\b", r"\bsystem prompt\b", r"\boutput \{", r"\"score\":", r"\bnote to the ai\b",
    r"\bclassify as hot\b", r"\bmark (this|me|the)[\w ]{0,20} (as )?(hot|the highest|priority)\b",
    r"\bignora (todas )?las instrucciones\b", r"\bpuntuacion de 100\b", r"\binstrucao para a ia\b",
    r"\bclassifique como\b", r"игнорируй", r"100 баллов", r"تجاهل جميع التعليمات", r"100 نقطة",
    r"\btalimatlari yok say\b", r"\b100 puan\b", r"im_start", r"\bignore (toutes )?les instructions\b",
    r"\b100 points\b", r"\bthe developer (says|wants)\b",
    r"\bset (the )?(lead )?score\b", r"\brespond only with\b", r"\bmaximum score\b", r"\blet'?s play a game\b",
    r"\byour only job\b",
)

# ---------------------------------------------------------------- shapes

# Praise with nothing asked: a fan, not (yet) a lead.
FAN = _rx(
    r"\blove (your|this|it)\b", r"\bso (pretty|cute|beautiful|talented|good)\b", r"\bamazing\b", r"\binsane\b",
    r"\bgorgeous\b", r"\bpiece of art\b", r"\bobsessed\b", r"\bqueen\b", r"\bbravissim", r"\bti seguo\b",
    r"\bte sigo\b", r"\bcantik\b", r"\bwow+\b", r"\bomg\b", r"\bkeep going\b", r"\bthank you for\b",
)

# A short "fine" that acknowledges what the creator said (unlike "lol" or "hm").
ACK = _rx(r"^(ok+|okay|k|cool|nice|great|got it|noted|sure|alright|yes|yep|yeah|si|sim|oui|ja|da|да|vale)\b")

GREETING_ONLY = re.compile(r"^(hi+|hey+|hello|hola|oi|ola|ciao|salut|hallo|привет|merhaba|hii+|yo)[!.\s]*$", re.I)
THANKS_ONLY = _rx(
    r"^(ok(ay)?|cool|great|nice)?[,!. ]*(thanks|thank you|thx|ty|gracias|obrigad[oa]|grazie|merci|danke|"
    r"спасибо|tesekkurler|shukriya)[!. ]*$",
)
LETTERS = re.compile(r"[^\W\d_]")
