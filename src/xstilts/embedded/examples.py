"""Task examples drawn from the synthetic world, with labels derived from meanings.

Each generator takes a `Sampler` (a seeded numpy Generator) and returns meanings; rendering
into a language happens late so evaluation sets are the same meanings in every language,
like XNLI and XQuAD, which are translations.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from xstilts.embedded.world import (
    ACTIVITIES,
    ADJECTIVES,
    CATEGORY_OF,
    DIMENSION_OF,
    PERSON_VERBS,
    PLACE_NOUNS,
    THING_VERBS,
    THINGS,
    TIMES,
    TYPICAL_PLACE,
    TYPICAL_USE,
    VERBS,
    Entity,
    Event,
    Language,
    Sampler,
    Thing,
    Token,
    join,
)

NLI_LABELS = ("entailment", "neutral", "contradiction")


# ---- rendering helpers --------------------------------------------------------------------


def render_text(lang: Language, events) -> str:
    """Several events as consecutive sentences."""
    sep = " " if lang.grammar.spaces else ""
    return sep.join(join(lang, lang.sentence(e))[0] for e in events)


def render_with_spans(lang: Language, events) -> tuple[str, list[list[tuple[Token, int, int]]]]:
    """Text of several sentences plus, per sentence, its tokens with absolute char spans."""
    sep = " " if lang.grammar.spaces else ""
    text, located = "", []
    for event in events:
        if text:
            text += sep
        tokens = lang.sentence(event)
        sentence, spans = join(lang, tokens)
        located.append([(t, len(text) + a, len(text) + b) for t, (a, b) in zip(tokens, spans)])
        text += sentence
    return text, located


def hex_id(sampler: Sampler, length: int) -> str:
    return "".join("0123456789abcdef"[i] for i in sampler.rng.integers(16, size=length))


# ---- NLI ----------------------------------------------------------------------------------


def premise_events(s: Sampler, n: int, org_p: float = 0.15) -> list[Event]:
    """n events with distinct agents and verbs, so hypotheses are unambiguous."""
    events, agents, verbs = [], set(), set()
    while len(events) < n:
        agent = s.org() if s.rng.random() < org_p else s.person()
        event = s.event(agent=agent, place_p=0.5, time_p=0.35)
        if agent.name[0] in agents or event.verb in verbs:
            continue
        agents.add(agent.name[0])
        verbs.add(event.verb)
        events.append(event)
    return events


def _droppable(event: Event) -> list[str]:
    parts = [p for p in ("place", "time") if getattr(event, p)]
    if isinstance(event.patients[0], Thing) and event.patients[0].adj:
        parts.append("adj")
    return parts


def _drop(event: Event, part: str) -> Event:
    if part == "adj":
        return replace(event, patients=(replace(event.patients[0], adj=None),))
    return replace(event, **{part: None})


def entailed(s: Sampler, event: Event) -> Event:
    """Drop at least one modifier when there is one: a weaker statement that still holds."""
    parts = _droppable(event)
    for part in s.sample(parts, int(s.rng.integers(1, len(parts) + 1)) if parts else 0):
        event = _drop(event, part)
    return event


def contradicted(s: Sampler, event: Event) -> Event:
    thing = event.patients[0]
    options = ["negate"]
    if isinstance(thing, Thing) and thing.count:
        options.append("count")
    if isinstance(thing, Thing) and thing.adj and DIMENSION_OF[thing.adj] != "size":
        options.append("adj")
    how = s.choice(options)
    if how == "negate":
        return replace(entailed(s, event) if s.rng.random() < 0.5 else event, negated=True)
    if how == "count":
        count = thing.count + int(s.rng.integers(1, 6)) * (1 if s.rng.random() < 0.5 else -1)
        count = count if count > 1 and count != thing.count else thing.count + 7
        return replace(event, patients=(replace(thing, count=count),))
    other = s.choice([a for a in ADJECTIVES[DIMENSION_OF[thing.adj]] if a != thing.adj])
    return replace(event, patients=(replace(thing, adj=other),))


def neutral(s: Sampler, event: Event, premise: list[Event]) -> Event:
    """Something the premise neither states nor rules out."""
    thing = event.patients[0]
    options = ["agent", "verb"]
    if event.place is None:
        options.append("place")
    if event.time is None:
        options.append("time")
    if isinstance(thing, Thing) and thing.adj is None:
        options.append("adj")
    how = s.choice(options)
    if how == "agent":
        named = {e.agents[0].name[0] for e in premise}
        agent = s.person()
        while agent.name[0] in named:
            agent = s.person()
        return replace(entailed(s, event), agents=(agent,))
    if how == "verb":
        pool = PERSON_VERBS if isinstance(thing, Entity) else THING_VERBS[CATEGORY_OF[thing.noun]]
        used = {e.verb for e in premise}
        return replace(entailed(s, event), verb=s.choice([v for v in pool if v not in used]))
    if how == "place":
        return replace(event, place=s.place())
    if how == "time":
        return replace(event, time=s.choice(TIMES))
    return replace(event, patients=(replace(thing, adj=s.choice(tuple(DIMENSION_OF))),))


@dataclass(frozen=True)
class NLIItem:
    premise: tuple[Event, ...]
    hypothesis: Event
    label: int  # index into NLI_LABELS


def nli_item(s: Sampler, n_premise: int = 1, org_p: float = 0.15) -> NLIItem:
    premise = premise_events(s, n_premise, org_p)
    target = s.choice(premise)
    label = int(s.rng.integers(3))
    make = (
        lambda: entailed(s, target),
        lambda: neutral(s, target, premise),
        lambda: contradicted(s, target),
    )[label]
    return NLIItem(tuple(premise), make(), label)


def nli_reason(item: NLIItem, en: Language) -> str:
    """ANLI-style annotator explanation."""
    hypothesis = render_text(en, [item.hypothesis])
    verdict = {0: "follows from", 1: "is not stated in", 2: "is contradicted by"}[item.label]
    return f"The statement '{hypothesis}' {verdict} the context."


# ---- paraphrase (PAWS-style) and question pairs (QQP) ----------------------------------------


def paws_pair(s: Sampler) -> tuple[Event, Event, int]:
    """Meaning-preserving reorderings (label 1) vs same-words role swaps (label 0)."""
    kind = s.choice(("agents", "roles", "objects", "adjectives"))
    place = s.place() if s.rng.random() < 0.5 else None
    if kind in ("agents", "roles"):
        a, b = s.people(2)
        if kind == "agents":
            event = s.event(agent=a, place_p=0.5)
            event = replace(event, agents=(a, b))
            return event, replace(event, agents=(b, a)), 1
        verb = s.choice(PERSON_VERBS)
        event = Event((a,), verb, (b,), place)
        return event, Event((b,), verb, (a,), place), 0
    category = s.choice(tuple(THINGS))
    n1, n2 = s.sample(THINGS[category], 2)
    c1, c2 = s.sample(ADJECTIVES["color"], 2)
    count = int(s.rng.integers(2, 10)) if s.rng.random() < 0.5 else None
    t1, t2 = Thing(n1, c1, count), Thing(n2, c2, count)
    event = Event((s.person(),), s.choice(THING_VERBS[category]), (t1, t2), place)
    if kind == "objects":
        return event, replace(event, patients=(t2, t1)), 1
    return event, replace(event, patients=(replace(t1, adj=c2), replace(t2, adj=c1))), 0


_EN_WH_VARIANTS = {
    "Who": "Which person",
    "Where": "In which place",
    "What": "Which thing",
    "How many": "What number of",
    "When": "At what time",
}


def english_question(en: Language, event: Event, slot: str, variant: bool = False) -> str:
    tokens = en.question(event, slot)
    if variant:
        tokens = [replace(tokens[0], text=_EN_WH_VARIANTS[tokens[0].text])] + tokens[1:]
    return join(en, tokens)[0]


def question_slots(event: Event) -> list[str]:
    slots = ["agent"]
    if isinstance(event.patients[0], Thing):
        slots += ["patient"] + (["count"] if event.patients[0].count else [])
    return slots + [p for p in ("place", "time") if getattr(event, p)]


def qqp_pair(s: Sampler, en: Language) -> tuple[str, str, int]:
    event = s.event(place_p=0.6, time_p=0.3)
    slot = s.choice(question_slots(event))
    q1 = english_question(en, event, slot, variant=bool(s.rng.random() < 0.5))
    if s.rng.random() < 0.4:
        return q1, english_question(en, event, slot, variant=bool(s.rng.random() < 0.7)), 1
    other = s.choice([x for x in question_slots(event) if x != slot] or [slot])
    changed = {
        "verb": lambda: replace(
            event, verb=s.choice([v for v in VERBS if v != event.verb and v not in PERSON_VERBS])
        ),
        "place": lambda: replace(event, place=s.place()),
        "slot": lambda: event,
    }
    how = s.choice(("verb", "place", "slot"))
    event2 = changed[how]()
    slot2 = other if how == "slot" else slot
    q2 = english_question(en, event2, slot2, variant=bool(s.rng.random() < 0.5))
    return (q1, q2, 0) if q2 != q1 else (q1, english_question(en, event, other), 0)


# ---- extractive QA -------------------------------------------------------------------------


@dataclass(frozen=True)
class QAItem:
    events: tuple[Event, ...]
    target: int  # which event the question is about (-1: unanswerable)
    question: Event
    slot: str


def qa_item(s: Sampler, unanswerable: bool = False) -> QAItem:
    events = premise_events(s, int(s.rng.integers(3, 6)), org_p=0.2)
    if unanswerable:
        # A plausible question about something the context does not say: an agent of the
        # context doing something no event mentions.
        used = {e.verb for e in events}
        agent = s.choice(events).agents[0]
        while True:
            question = s.event(agent=agent, place_p=0.0, time_p=0.0, person_p=0.0)
            if question.verb not in used:
                break
        slot = s.choice([x for x in question_slots(question) if x != "agent"] or ["patient"])
        return QAItem(tuple(events), -1, question, slot)
    target = int(s.rng.integers(len(events)))
    slot = s.choice(question_slots(events[target]))
    return QAItem(tuple(events), target, events[target], slot)


_SLOT_TOKENS = {
    "agent": ("agent0",),
    "place": ("place",),
    "time": ("time",),
    "count": ("patient0.count",),
    "patient": ("patient0.adj", "patient0.noun"),
}


def qa_render(lang: Language, item: QAItem) -> tuple[str, str, list[str], list[int]]:
    """(context, question, answer texts, answer starts) in one language."""
    context, located = render_with_spans(lang, item.events)
    question = join(lang, lang.question(item.question, item.slot))[0]
    if item.target < 0:
        return context, question, [], []
    spans = [(a, b) for t, a, b in located[item.target] if t.slot in _SLOT_TOKENS[item.slot]]
    start, end = spans[0][0], spans[-1][1]
    return context, question, [context[start:end]], [start]


# ---- multiple choice -----------------------------------------------------------------------


@dataclass(frozen=True)
class ScriptItem:
    activity: str
    context: tuple[Event, ...]
    endings: tuple[Event, ...]  # verb phrases continue the same agent
    label: int
    previous: Event | None  # for "what did X do before ..." questions


def script_item(s: Sampler, n_context: int = 2) -> ScriptItem:
    """Steps of an activity; one ending is the next step, the others break the script."""
    activity = s.choice(tuple(ACTIVITIES))
    category, steps = ACTIVITIES[activity]
    start = int(s.rng.integers(0, len(steps) - n_context))
    agent = s.person()
    thing = s.thing(category, count_p=0.0)
    first = Event(
        (agent,), steps[start], (replace(thing, definite=False),), s.place() if s.rng.random() < 0.5 else None
    )
    the = replace(thing, definite=True)
    context = [first] + [Event((agent,), v, (the,)) for v in steps[start + 1 : start + n_context]]
    right = Event((agent,), steps[start + n_context], (the,))
    other_cat = s.choice([c for c in THINGS if c != category])
    _, other_steps = ACTIVITIES[s.choice([a for a, (c, _) in ACTIVITIES.items() if c == other_cat])]
    wrong = [
        Event((agent,), steps[start + n_context - 1], (the,)),  # already done
        Event((agent,), s.choice([v for v in other_steps if v not in steps]), (the,)),
        Event(
            (agent,),
            steps[start + n_context],  # wrong thing
            (Thing(s.choice(THINGS[other_cat]), definite=True),),
        ),
    ]
    label = int(s.rng.integers(4))
    endings = wrong[:label] + [right] + wrong[label:]
    return ScriptItem(activity, tuple(context), tuple(endings), label, None)


def verb_phrase(en: Language, event: Event) -> str:
    """An English sentence without its subject: what HellaSwag endings look like."""
    tokens = [t for t in en.sentence(event) if not t.slot.startswith("agent")]
    return join(en, tokens)[0]


def commonsense_item(s: Sampler) -> tuple[str, str, list[str], int]:
    """(question, concept, five choices, answer index) from world knowledge."""
    noun = s.choice(tuple(CATEGORY_OF))
    category = CATEGORY_OF[noun]
    article = "an" if noun[0] in "aeiou" else "a"
    if s.rng.random() < 0.5:
        question = f"Where would you usually find {article} {noun}?"
        right = TYPICAL_PLACE[category]
        pool = [p for p in PLACE_NOUNS if p != right]
    else:
        question = f"What do people usually do with {article} {noun}?"
        right = TYPICAL_USE[category]
        pool = sorted(set(TYPICAL_USE.values()) - set(THING_VERBS[category]) - {right})
    choices = s.sample(pool, 4)
    label = int(s.rng.integers(5))
    return question, noun, choices[:label] + [right] + choices[label:], label
