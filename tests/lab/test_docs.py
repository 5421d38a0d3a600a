"""README.md and docs/*.md: every relative link and #anchor lands, every command names real flags,
and the README's reading table points at the lines of autoencoder.py it names."""
import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent     # tests/lab/ -> the repository
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

FENCE = re.compile(r"^ {0,3}(```|~~~)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)", re.S)
# a script run by python or %run: `python autoencoder.py ...`, `%run autoencoder.py ...`
COMMAND = re.compile(r"(?:(?<![\w/.-])python3?|%run|!python3?)\s+(?:-\S+\s+)*([\w./-]+\.py)\b([^\n]*)")
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def split_page(text):
    """(code, prose) of a Markdown page: the lines of its fenced and 4-space indented code blocks,
    and the rest with those blocks blanked out."""
    code, prose = [], []
    fenced, previous_blank, indented = False, True, False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            code.append("")
            prose.append("")
            continue
        blank = not line.strip()
        if not fenced and not blank:
            indented = line.startswith("    ") and (indented or previous_blank)
        if fenced or (indented and not blank):
            code.append(line)
            prose.append("")
        else:
            code.append("")
            prose.append(line)
        previous_blank = blank
    return "\n".join(code), "\n".join(prose)


def spans(prose):
    """The inline code spans of the prose, without their backticks (none crosses a blank line)."""
    return [m.group(2).strip() for m in SPAN.finditer(prose) if "\n\n" not in m.group(2)]


def slug(heading):
    """GitHub's anchor for a heading: its text, lowercase, without punctuation but hyphens, and
    with hyphens for spaces."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)     # a link: its text
    text = text.replace("`", "").replace("*", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@lru_cache(maxsize=None)
def anchors(page):
    """Every #anchor of a page, the second heading of one name with -1 after it as on GitHub."""
    _, prose = split_page(page.read_text())
    seen, found = {}, set()
    for line in prose.splitlines():
        match = HEADING.match(line)
        if match:
            base = slug(match.group(2))
            found.add(f"{base}-{seen[base]}" if base in seen else base)
            seen[base] = seen.get(base, 0) + 1
    return found


def broken_links(page, text):
    """The relative links and #anchors of text, a page's, that point at nothing."""
    _, prose = split_page(text)
    prose = SPAN.sub(lambda m: m.group(0) if "\n\n" in m.group(2) else "", prose)    # spans are not links
    broken = []
    for target in LINK.findall(prose):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):       # http(s), mailto: not checked here
            continue
        path, _, anchor = target.partition("#")
        where = (page.parent / path).resolve() if path else page
        if not where.exists() or REPO.resolve() not in [where, *where.parents]:
            broken.append(f"{target}: no file {path}")
        elif anchor and where.suffix == ".md" and anchor not in anchors(where):
            broken.append(f"{target}: no heading #{anchor} in {where.relative_to(REPO.resolve())}")
    return broken


@lru_cache(maxsize=None)
def script_help():
    """autoencoder.py --help, as its real parser prints it."""
    result = subprocess.run([sys.executable, str(REPO / "autoencoder.py"), "--help"],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


@lru_cache(maxsize=None)
def known_flags(script):
    """The flags a script of this repository takes: autoencoder.py's from its parser's --help,
    the others' from the add_argument calls in their source (they may import what is missing)."""
    if script == "autoencoder.py":
        flags = re.findall(r"^  (?:-\w, )?(--[a-z][a-z0-9-]*)", script_help(), re.M)
    else:
        flags = re.findall(r"add_argument\(\s*[\"'](--[a-z][a-z0-9-]*)[\"']", (REPO / script).read_text())
    return frozenset(flags) | {"--help"}


@lru_cache(maxsize=None)
def recipes():
    return frozenset(re.search(r"--recipe \{([^}]*)\}", script_help()).group(1).split(","))


def commands(text):
    """(script, its arguments) of every command in the code blocks of a page's text, and in its
    inline code spans that start with `python ` or `%run `."""
    code, prose = split_page(text)
    lines = code.splitlines() + [" ".join(s.split()) for s in spans(prose)
                                 if s.startswith(("python ", "python3 ", "%run "))]
    found = []
    for line in lines:
        for part in re.split(r"&&|\|\||;|\||(?:^|\s)#", line):     # one command each, comments too
            for match in COMMAND.finditer(part):
                found.append((match.group(1), match.group(2).split()))
    return found


def bad_flags(script, args):
    """What is wrong with one command: a script that is not here, a flag it does not take, a
    recipe it does not know."""
    if not (REPO / script).is_file():
        return [f"{script}: no such script"]
    if "--" in args:    # benchmarks/validate.py ... -- "FLAGS" ...: the runs' flags, autoencoder.py's
        args, runs = args[:args.index("--")], [a.strip("\"'") for a in args[args.index("--") + 1:]]
        wrong = [f"{script} -- {a}" for a in runs if a.startswith("--") and a not in known_flags("autoencoder.py")]
    else:
        wrong = []
    wrong += [f"{script} {a}" for a in args if a.startswith("--") and a.split("=")[0] not in known_flags(script)]
    if script == "autoencoder.py":
        wrong += [f"--recipe {name}" for flag, name in zip(args, args[1:])
                  if flag == "--recipe" and name not in recipes() and name != "NAME"]
    return wrong


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_link_and_anchor_points_at_something(page):
    assert broken_links(page, page.read_text()) == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_command_names_only_flags_its_script_takes(page):
    found = commands(page.read_text())
    assert [wrong for script, args in found for wrong in bad_flags(script, args)] == []


def test_every_flag_in_code_is_a_flag_of_some_script():
    """A flag in any code (an output line, a span in a sentence) belongs to one of the scripts."""
    every = set(known_flags("autoencoder.py"))
    for script in [*REPO.glob("benchmarks/*.py"), *REPO.glob("docs/*.py")]:
        every |= known_flags(str(script.relative_to(REPO)))
    unknown = set()
    for page in PAGES:
        code, prose = split_page(page.read_text())
        for text in [code, *spans(prose)]:
            unknown |= {f"{page.name}: {flag}" for flag in FLAG.findall(text) if flag not in every}
    assert unknown == set()


def test_the_pages_are_checked_and_the_checks_can_fail():
    assert len(PAGES) > 5 and len(commands((REPO / "README.md").read_text())) >= 5
    readme = REPO / "README.md"
    assert slug("The 2006 table, reproduced") == "the-2006-table-reproduced"
    assert slug("Going on with a run (`--resume`)") == "going-on-with-a-run---resume"
    assert "run-it" in anchors(readme)
    # a scratch page with a renamed flag, a missing script, a missing page and a missing anchor
    scratch = ("Try `python autoencoder.py --epochs 2 --made-up-flag 3`, [a page](docs/nothing.md),\n"
               "[an anchor](#no-such-heading), [another](docs/speed.md#no-such-heading).\n\n"
               "    python benchmarks/speed.py --rounds 1 --made-up-too && python missing.py\n"
               "    %run autoencoder.py --recipe no-such-recipe\n")
    found = commands(scratch)
    assert sorted(w for script, args in found for w in bad_flags(script, args)) == [
        "--recipe no-such-recipe", "autoencoder.py --made-up-flag", "benchmarks/speed.py --made-up-too",
        "missing.py: no such script"]
    assert len(broken_links(readme, scratch)) == 3
    assert broken_links(readme, "[fine](docs/speed.md#speed) [fine too](#run-it)") == []


def test_the_readmes_reading_table_points_at_the_lines_it_names():
    readme = (REPO / "README.md").read_text()
    start = readme.index("## Reading along with the tutorial")
    table = readme[start:readme.index("\n## ", start)]        # to the next section
    lines = (REPO / "autoencoder.py").read_text().splitlines()
    references = re.findall(r"`([^`]+)` \(line (\d+)\)", table)
    assert len(references) >= 15
    for snippet, number in references:
        assert snippet in lines[int(number) - 1], f"README: `{snippet}` is not on line {number}"
    # autoencoder.py is the lesson and only the lesson (what goes beyond it is in lab/): every
    # step the table names is in it, and from its Hyper Parameters to its end it stays short
    assert max(int(n) for _, n in references) <= len(lines)
    start = next(i for i, line in enumerate(lines, 1) if line.startswith("# ---- Hyper Parameters"))
    assert len(lines) - start <= 240, "the lesson should stay about 230 lines long: move additions into lab/"
