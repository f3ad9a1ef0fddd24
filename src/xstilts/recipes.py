"""Recipes in any language: source languages, budgets, and recipe families.

A recipe task `{task, language}` trains where a source exists: the registry's
(`tasks.Task.training_sources`: English, XNLI translate-train, PAWS-X translated train, TyDiQA
GoldP per language) or a local dataset the config names under `sources` (`xstilts.local_data`).

A task trained in several languages needs a declared budget, because translated data is
parallel (the same examples in every language):
  `per_language`  each language adds its full set (the default for one language);
  `fixed`         the same total for every number of languages, split evenly across them
                  (`examples`: the total, default the smallest language's set), optionally
                  `disjoint`: the languages take disjoint example positions, so no content
                  repeats (parallel sources of equal size only).

Families expand into ordinary named recipes, before anything else reads the recipes:
  `{family: sources, task, languages}`          -> `<task>@<lang>` per language;
  `{family: language_count, task, pool, k, ...}` -> `<task>-k<k>-d<draw>` (`draws: n` seeded
      random subsets per k) or `<task>-k<k>-diverse` (`select: diverse`, greedy max-min URIEL
      distance among the pool). Every name depends only on its own k and draw, and each
      subset only on (seed, k, draw): adding a k or a draw renames and reruns nothing else.
"""

from __future__ import annotations

import difflib
import hashlib

from xstilts.tasks import INTERMEDIATE_TASKS, TASKS

FAMILIES = ("sources", "language_count")
BUDGETS = ("per_language", "fixed")
DEFAULT_BUDGET = {"kind": "per_language", "examples": None, "disjoint": False}
SELECTIONS = ("random", "diverse")
DIVERSE_DISTANCE = "syntactic"  # URIEL kind for `select: diverse` (family key `distance`)


class RecipeError(ValueError):
    """A problem with a recipe family or a recipe's languages; the message names key and fix."""


def _check(condition, message):
    if not condition:
        raise RecipeError(message)


# ---- budgets -------------------------------------------------------------------------------


def budget(value, where: str) -> dict:
    """`budget: fixed` / `per_language` / {kind, examples, disjoint} -> the full mapping."""
    if value is None:
        return dict(DEFAULT_BUDGET)
    written = value
    if isinstance(value, str):
        value = {"kind": value}
    _check(
        isinstance(value, dict) and value.get("kind") in BUDGETS,
        f"config key {where}.budget: {written!r} is not a budget. Fix: write budget: fixed or "
        f"budget: per_language (or {{kind: fixed, examples: N, disjoint: true}}).",
    )
    extra = sorted(set(value) - {"kind", "examples", "disjoint"})
    _check(
        not extra, f"config key {where}.budget: unknown key {extra[:1]}. Fix: use kind, examples, disjoint."
    )
    examples, disjoint = value.get("examples"), value.get("disjoint", False)
    _check(
        examples is None or (isinstance(examples, int) and not isinstance(examples, bool) and examples > 0),
        f"config key {where}.budget.examples: must be a whole number > 0, got {examples!r}. Fix: "
        f"write e.g. examples: 20000, or leave it out (the smallest language's set).",
    )
    _check(isinstance(disjoint, bool), f"config key {where}.budget.disjoint: must be true or false.")
    _check(
        value["kind"] == "fixed" or (examples is None and not disjoint),
        f"config key {where}.budget: examples and disjoint apply to budget: fixed only (per_language "
        f"adds every language's full set). Fix: write kind: fixed, or drop them.",
    )
    return {"kind": value["kind"], "examples": examples, "disjoint": disjoint}


def languages_per_task(recipe: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for t in recipe["tasks"]:
        out.setdefault(t["task"], []).append(t["language"])
    return out


def is_multilingual(recipe: dict) -> bool:
    """Some task of the recipe trains in more than one language."""
    return any(len(langs) > 1 for langs in languages_per_task(recipe).values())


def check_budget(recipe: dict, declared: bool) -> None:
    _check(
        declared or not is_multilingual(recipe),
        f"config key recipes.{recipe['name']}: trains "
        + ", ".join(f"{t} in {' '.join(ls)}" for t, ls in languages_per_task(recipe).items() if len(ls) > 1)
        + ", and translated data is parallel (the same examples in every language), so the "
        "recipe must say how many examples it trains on. Fix: add budget: per_language (each "
        "language adds its full set) or budget: fixed (the same total for any number of "
        "languages; {kind: fixed, disjoint: true} for no repeated content).",
    )


def allocate(sizes: list[int], spec: dict, seed: int, languages: list[str]) -> list[list[int]]:
    """The example positions each language trains on (one list per language, in order).

    per_language: all of each. fixed: `examples` (default: the smallest set) split evenly,
    the first `examples % k` languages one more; each language a seeded sample of its own,
    or with `disjoint` consecutive slices of one seeded permutation of the shared positions."""
    import numpy as np

    if spec["kind"] == "per_language":
        return [list(range(n)) for n in sizes]
    k = len(sizes)
    total = spec["examples"] or min(sizes)
    shares = [total // k + (i < total % k) for i in range(k)]
    if spec["disjoint"]:
        _check(
            len(set(sizes)) == 1,
            f"budget disjoint: the sources of {' '.join(languages)} differ in size "
            f"({', '.join(f'{lang} {n}' for lang, n in zip(languages, sizes))}), so the same "
            f"position is not the same example in each. Fix: disjoint: false, or parallel "
            f"sources of equal size.",
        )
        _check(
            total <= sizes[0],
            f"budget disjoint: {total} examples exceed the {sizes[0]} positions the languages "
            f"share. Fix: lower budget.examples.",
        )
        order = np.random.default_rng([seed, 0]).permutation(sizes[0])
        bounds = np.cumsum([0, *shares])
        return [sorted(order[a:b].tolist()) for a, b in zip(bounds[:-1], bounds[1:])]
    out = []
    for lang, n, share in zip(languages, sizes, shares):
        _check(
            share <= n,
            f"budget fixed: {lang} has {n} examples, fewer than its share {share}. Fix: "
            f"lower budget.examples.",
        )
        stream = int(hashlib.sha256(lang.encode()).hexdigest()[:8], 16)  # each language its own sample
        out.append(sorted(np.random.default_rng([seed, stream]).permutation(n)[:share].tolist()))
    return out


# ---- where a task can be trained ------------------------------------------------------------


def local_sources(cfg: dict, task: str) -> dict:
    """language -> the config's local dataset of a task (`sources`)."""
    return (cfg.get("sources") or {}).get(task, {})


def local_languages(cfg: dict, task: str) -> list[str]:
    return list(local_sources(cfg, task))


def source_languages(cfg: dict, task: str) -> list[str]:
    """The registry's training languages of a task, then the config's local ones."""
    registered = list(TASKS[task].train_languages)
    return registered + [lang for lang in local_languages(cfg, task) if lang not in registered]


def check_recipe_sources(cfg: dict, recipe: dict, where: str | None = None) -> None:
    """Every {task, language} of a recipe has a training source; else name those that exist.
    `where`: the key the user wrote (a family's entry, not the recipe it generated)."""
    trainable = [n for n, t in TASKS.items() if t.trainable]
    where = where or f"recipes.{recipe['name']}"
    for t in recipe["tasks"]:
        task = TASKS.get(t["task"])
        close = difflib.get_close_matches(t["task"], trainable, 1)
        _check(
            task is not None and task.trainable,
            f"config key {where}: {t['task']!r} is not an intermediate task, nor a "
            f"target trained on its own data, so a recipe cannot train it. "
            f"Fix: {f'did you mean {close[0]}? ' if close else ''}use an intermediate task "
            f"({', '.join(INTERMEDIATE_TASKS)}) or a target trained on its own data "
            f"({', '.join(n for n in trainable if TASKS[n].role == 'target')}).",
        )
        languages = source_languages(cfg, t["task"])
        _check(
            t["language"] in languages,
            f"config key {where}: {t['task']} has no training source in "
            f"{t['language']!r}. Fix: use one of its source languages: {' '.join(languages)}; "
            f"or name a local dataset under sources.{t['task']}.{t['language']} (README.md, "
            f"Sources).",
        )


def data_source(cfg: dict, task: str, language: str) -> str:
    """Where the train and dev splits of a task in a language come from, in words: the user's
    local dataset (`sources`) or the registry's hub repos (`xstilts grid`, `xstilts show`)."""
    local = local_sources(cfg, task).get(language)
    if local and "hub_id" in local:
        config = f" config {local['config']}" if local.get("config") else ""
        splits = local["splits"]
        return (
            f"sources.{task}.{language}: hub {local['hub_id']}{config} "
            f"(train: {splits['train']}, dev: {splits['dev']})"
        )
    if local:
        return f"sources.{task}.{language}: local files {local['train']} (train), {local['dev']} (dev)"
    found = TASKS[task].training_source(language)
    if found is None:  # a target's language without training data: refused by validation
        return "no training source"
    return f"registry: hub {' '.join(found.repos) or '-'} ({found.kind}; `xstilts tasks {task}`)"


def source_record(cfg: dict, recipe: dict) -> dict:
    """What the results record about a recipe: its (task, language) list, kinds and budget."""
    kinds = []
    for t in recipe["tasks"]:
        if t["language"] in local_languages(cfg, t["task"]):
            kinds.append("local")
        else:
            kinds.append(TASKS[t["task"]].training_source(t["language"]).kind)
    return {
        "tasks": [[t["task"], t["language"]] for t in recipe["tasks"]],
        "kinds": kinds,
        "budget": recipe.get("budget") or dict(DEFAULT_BUDGET),
        **({"family": recipe["family"]} if recipe.get("family") else {}),
    }


def is_english_default(cfg: dict, recipe: dict) -> bool:
    """Trains registry data in English only with the default budget: what every recipe was
    before non-English sources, so its job settings stay as they were (nothing reruns)."""
    return (
        all(t["language"] == "en" and "en" not in local_languages(cfg, t["task"]) for t in recipe["tasks"])
        and (recipe.get("budget") or DEFAULT_BUDGET) == DEFAULT_BUDGET
    )


def describe(cfg: dict) -> list[str]:
    """One line per recipe for `xstilts grid`: name, task@language list, budget, family."""
    rows = []
    for r in cfg["recipes"]:
        tasks = " ".join(f"{t['task']}@{t['language']}" for t in r["tasks"]) or "(no intermediate training)"
        b = r.get("budget") or DEFAULT_BUDGET
        budget_text = (
            ""
            if not is_multilingual(r) and b == DEFAULT_BUDGET
            else (
                f"  budget {b['kind']}"
                + (f" {b['examples']}" if b["examples"] else "")
                + (" disjoint" if b["disjoint"] else "")
            )
        )
        family = f"  [{r['family']['kind']} {r['family']['name']}]" if r.get("family") else ""
        rows.append((r["name"], f"{tasks}{budget_text}{family}"))
    return _aligned(rows)


def describe_sources(cfg: dict) -> list[str]:
    """One line per task@language the recipes train: where its data comes from (`xstilts grid`)."""
    pairs = dict.fromkeys((t["task"], t["language"]) for r in cfg["recipes"] for t in r["tasks"])
    return _aligned([(f"{t}@{lang}", data_source(cfg, t, lang)) for t, lang in pairs])


def _aligned(rows: list[tuple[str, str]]) -> list[str]:
    """Two columns, the first padded to its widest entry (the lines `xstilts grid` prints)."""
    from tabulate import tabulate

    text = tabulate(rows, tablefmt="plain", disable_numparse=True) if rows else ""
    return [line.rstrip() for line in text.splitlines()]


# ---- families --------------------------------------------------------------------------------


def _stable_order(pool: list[str], seed: int, k: int, draw: int) -> list[str]:
    """A seeded shuffle that depends only on (seed, k, draw, language): stable across versions."""
    key = lambda lang: hashlib.sha256(f"{seed}:{k}:{draw}:{lang}".encode()).hexdigest()  # noqa: E731
    return sorted(pool, key=key)


def diverse_order(pool: list[str], kind: str = DIVERSE_DISTANCE) -> list[str]:
    """Greedy max-min selection: the pool's first language, then repeatedly the language whose
    smallest distance to those chosen is largest (ties: pool order). Each k takes a prefix."""
    from xstilts.uriel import pairwise_distance

    chosen, rest = [pool[0]], list(pool[1:])
    while rest:
        best = max(rest, key=lambda c: (min(pairwise_distance(c, s, kind) for s in chosen), -rest.index(c)))
        chosen.append(best)
        rest.remove(best)
    return chosen


def _family_error(where: str, problem: str, fix: str):
    raise RecipeError(f"config key {where}: {problem}. Fix: {fix}.")


def expand_family(entry: dict, index: int, cfg: dict) -> list[dict]:
    """One family entry -> recipe entries ({name, tasks, sampling, training, budget, family})."""
    where = f"recipes[{index}]"
    kind = entry["family"]
    task = entry["task"]
    prefix = entry.get("name") or task
    needs = {"sources": ("languages",), "language_count": ("pool", "k")}[kind]
    lacking = [key for key in needs if key not in entry]
    if lacking:
        _family_error(
            where,
            f"a {kind} family needs {' and '.join(needs)}",
            f"add {lacking[0]}: [...]" + (" (e.g. languages: [en, de, ru])" if kind == "sources" else ""),
        )
    wrong = sorted(
        set(entry)
        & ({"pool", "k", "draws", "select", "distance", "seed"} if kind == "sources" else {"languages"})
    )
    if wrong:
        _family_error(
            where, f"{wrong[0]} is not a key of a {kind} family", "drop it (README.md, Recipe families)"
        )
    common = {
        "sampling": entry.get("sampling"),
        "training": entry.get("training", {}),
        "budget": entry.get("budget"),
    }
    if kind == "sources":
        return [
            {
                "name": f"{prefix}@{lang}",
                "tasks": [{"task": task, "language": lang}],
                **common,
                "family": {"name": prefix, "kind": kind, "languages": [lang]},
            }
            for lang in entry["languages"]
        ]
    pool, ks = list(entry["pool"]), list(entry["k"])
    select = entry.get("select", "random")
    too_big = [k for k in ks if k > len(pool)]
    if too_big:
        _family_error(
            f"{where}.k",
            f"k = {too_big[0]} is more than the {len(pool)} languages of the pool",
            "drop it or add languages to pool",
        )
    if entry.get("budget") is None and any(k > 1 for k in ks):
        _family_error(
            f"{where}.budget",
            "a language_count family trains one task in several languages, and translated data "
            "is parallel, so it must declare a budget",
            "add budget: fixed (the same total for every k; {kind: fixed, disjoint: true} for "
            "no repeated content) or budget: per_language (each language adds its full set)",
        )
    recipes = []
    if select == "diverse":
        _check(
            "draws" not in entry,
            f"config key {where}.draws: select: diverse is deterministic (one subset per k). "
            f"Fix: drop draws, or use select: random.",
        )
        order = diverse_order(pool, entry.get("distance", DIVERSE_DISTANCE))
        subsets = [(k, "diverse", order[:k]) for k in ks]
    else:
        seed, draws = entry.get("seed", 0), entry.get("draws", 1)
        subsets, seen = [], set()
        for k in ks:
            for draw in range(1, draws + 1):
                chosen = _stable_order(pool, seed, k, draw)[:k]
                key = frozenset(chosen)
                if key in seen:  # k = len(pool), or a repeat: the same recipe, trained once
                    continue
                seen.add(key)
                subsets.append((k, f"d{draw}", chosen))
    for k, draw, chosen in subsets:
        chosen = [lang for lang in pool if lang in chosen]  # pool order
        recipes.append(
            {
                "name": f"{prefix}-k{k}-{draw}",
                "tasks": [{"task": task, "language": lang} for lang in chosen],
                **common,
                "family": {"name": prefix, "kind": kind, "k": k, "draw": draw, "languages": chosen},
            }
        )
    return recipes
