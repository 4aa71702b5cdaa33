"""Every stage the nightly times has a Chinese label and counts in the progress bar's total."""
import re

from flows.progress import STAGES
from tests.conftest import ROOT


def test_every_timed_stage_has_a_chinese_label():
    timed = set()
    for name in ("flows/pipeline.py", "flows/nightly.py"):
        timed |= set(re.findall(r'\.stage\("(\w+)"\)', (ROOT / name).read_text(encoding="utf-8")))
    assert timed and timed <= set(STAGES), sorted(timed - set(STAGES))
