"""Synthetic CCGbank: English world sentences as CCG derivations in CCGbank's AUTO format.

CCGbank itself is licensed (LDC2005T13). These derivations use the real category inventory
for the constructions the world has (NP/N determiners, N/N adjectives and numbers,
(S[dcl]\\NP)/NP transitive verbs, VP modifiers, conjunction), so `xstilts.ccgbank` parses
the synthetic and the real files with one reader.
"""

from __future__ import annotations

from xstilts.embedded.world import VERBS, Entity, Event, Thing

VP = r"S[dcl]\NP"
VP_MOD = r"(S\NP)\(S\NP)"


class Node:
    def __init__(self, cat: str, children=(), head: int = 0, leaf=None):
        self.cat, self.children, self.head, self.leaf = cat, list(children), head, leaf

    def auto(self) -> str:
        if self.leaf is not None:
            pos, word = self.leaf
            return f"(<L {self.cat} {pos} {pos} {word} {self.cat}>)"
        inner = " ".join(c.auto() for c in self.children)
        return f"(<T {self.cat} {self.head} {len(self.children)}> {inner} )"


def leaf(cat: str, pos: str, word: str) -> Node:
    return Node(cat, leaf=(pos, word))


def name_np(entity: Entity) -> Node:
    """Multi-word names: N/N modifiers on an N head, then the unary N -> NP type change."""
    words = list(entity.name)
    node = leaf("N", "NNP", words[-1])
    for word in reversed(words[:-1]):
        node = Node("N", [leaf("N/N", "NNP", word), node], head=1)
    return Node("NP", [node])


def thing_np(thing: Thing) -> Node:
    plural = thing.count is not None and thing.count > 1
    node = leaf("N", "NNS" if plural else "NN", thing.noun + ("s" if plural else ""))
    if thing.adj:
        node = Node("N", [leaf("N/N", "JJ", thing.adj), node], head=1)
    if thing.count is not None:
        node = Node("N", [leaf("N/N", "CD", str(thing.count)), node], head=1)
        return Node("NP", [node])
    det = "the" if thing.definite else "a"
    return Node("NP", [leaf("NP[nb]/N", "DT", det), node], head=1)


def coordinate(nps: list[Node]) -> Node:
    if len(nps) == 1:
        return nps[0]
    conj = Node(r"NP[conj]", [leaf("conj", "CC", "and"), coordinate(nps[1:])], head=1)
    return Node("NP", [nps[0], conj])


def derivation(event: Event) -> Node:
    subject = coordinate([name_np(a) for a in event.agents])
    objects = coordinate([name_np(p) if isinstance(p, Entity) else thing_np(p) for p in event.patients])
    if event.negated:
        base = Node(r"S[b]\NP", [leaf(r"(S[b]\NP)/NP", "VB", event.verb), objects])
        neg = Node(r"S[b]\NP", [leaf(r"(S\NP)/(S\NP)", "RB", "not"), base], head=1)
        vp = Node(VP, [leaf(r"(S[dcl]\NP)/(S[b]\NP)", "VBD", "did"), neg])
    else:
        vp = Node(VP, [leaf(rf"({VP})/NP", "VBD", VERBS[event.verb]), objects])
    if event.place:
        pp = Node(VP_MOD, [leaf(rf"({VP_MOD})/NP", "IN", "in"), name_np(event.place)])
        vp = Node(VP, [vp, pp])
    if event.time:
        vp = Node(VP, [vp, leaf(VP_MOD, "RB", event.time)])
    clause = Node("S[dcl]", [subject, vp], head=1)
    return Node("S[dcl]", [clause, leaf(".", ".", ".")])


def auto_file(file_id: str, events) -> str:
    """One AUTO file: an ID line then the derivation line, per sentence."""
    lines = []
    for i, event in enumerate(events, start=1):
        lines.append(f"ID={file_id}.{i} PARSER=GOLD NUMPARSE=1")
        lines.append(derivation(event).auto())
    return "\n".join(lines) + "\n"
