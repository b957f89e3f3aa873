"""Markdown drafts: what is read, one paragraph per line."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voicer.script.markdown import to_plain
from voicer.script.reading import read_script
from voicer.script.sentences import segments

DRAFT = """\
<!-- 内部稿 -->
# 一、总体情况

今年以来，全市经济**稳中向好**，
主要指标增长5.2%。

## 二、重点工作

1. 推动科技创新；
2. 优化营商环境。

- 加强[基础研究](https://example.org/research)
- 扩大开放

> 引用的一段话。

![图表](chart.png)

```
print("不读代码")
```

---

Keep *calm* and read `on`.
"""


def test_a_markdown_draft_reads_as_paragraphs():
    assert to_plain(DRAFT).splitlines() == [
        "一、总体情况",
        "今年以来，全市经济稳中向好，主要指标增长5.2%。",
        "二、重点工作",
        "1、推动科技创新；",
        "2、优化营商环境。",
        "加强基础研究",
        "扩大开放",
        "引用的一段话。",
        "Keep calm and read on.",
    ]


def test_wrapped_latin_lines_join_with_a_space():
    assert to_plain("The first line\nand the second.\n") == "The first line and the second.\n"


@pytest.mark.parametrize(
    "line", ["*市GDP增长*%，居全省第*位。", "增长＊%，排名第XX位。", "[pause 1.5s]我们继续。"]
)
def test_placeholders_and_voicer_markup_pass_through(line):
    assert to_plain(line + "\n") == line + "\n"


@given(st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1))
def test_plain_chinese_lines_are_unchanged(text):
    assert to_plain(text + "\n") == text + "\n"


def test_an_md_file_is_read_as_markdown(tmp_path):
    path = tmp_path / "draft.md"
    path.write_text(DRAFT, encoding="utf-8")
    found = segments(read_script(path))
    assert [s.shown for s in found][:3] == [
        "一、总体情况",
        "今年以来，全市经济稳中向好，主要指标增长5.2%。",
        "二、重点工作",
    ]
    assert found[0].ends_paragraph
