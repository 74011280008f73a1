"""BM25 finds words in Chinese and Japanese text, written without spaces (issue 11, item 9)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from qa import Index
from qa.search.bm25 import BM25, tokenize
from tests.conftest import run_qa

# Short texts written for these tests (free to use), in the style of an encyclopaedia and a travel note.
PANDA = """大熊猫

大熊猫是中国特有的哺乳动物，主要生活在四川、陕西和甘肃的山区竹林里。它们每天要花十几个小时进食，
食物几乎全部是竹子，偶尔也吃小动物。成年大熊猫体重可达一百五十公斤。

野外的大熊猫数量曾经很少。经过几十年的保护，卧龙等自然保护区里的熊猫数量逐渐增加。
"""
TEA = """茶的历史

中国人饮茶已有几千年的历史。唐代陆羽写了《茶经》，记录了种茶、制茶和煮茶的方法。
今天，绿茶、红茶和乌龙茶在世界各地都很受欢迎。
"""
KYOTO = """京都の旅

京都には古いお寺がたくさんあります。金閣寺は池のそばに建っていて、秋の紅葉がとても美しいです。
"""


@pytest.fixture(scope="module")
def cjk_index(tmp_path_factory, fake_model: Path) -> Path:
    root = tmp_path_factory.mktemp("cjk")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in (("panda.txt", PANDA), ("tea.txt", TEA), ("kyoto.md", KYOTO)):
        (corpus / name).write_text(text, encoding="utf-8")
    Index.build([corpus], root / "ix", model=str(fake_model))
    return root / "ix"


@pytest.mark.parametrize("question, file, phrase", [
    ("熊猫", "panda.txt", "大熊猫是中国特有的哺乳动物"),
    ("大熊猫吃什么？", "panda.txt", "食物几乎全部是竹子"),
    ("熊猫的数量", "panda.txt", "熊猫数量逐渐增加"),
    ("谁写了茶经", "tea.txt", "陆羽写了《茶经》"),
    ("金閣寺", "kyoto.md", "金閣寺は池のそばに建って"),
], ids=["panda", "what-pandas-eat", "panda-numbers", "tea-classic", "kinkakuji"])
def test_bm25_finds_words_inside_cjk_text(cjk_index: Path, question, file, phrase):
    hits = Index.open(cjk_index).search(question, k=3, mode="bm25")
    assert hits and hits[0].passage.file == file and phrase in hits[0].passage.text, [h.citation for h in hits]


def test_the_cli_answers_a_chinese_question_with_bm25(cjk_index: Path):
    result = run_qa("ask", "熊猫", "--mode", "bm25", "--json", "-k", "1", "--index", str(cjk_index))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["results"][0]["file"] == "panda.txt"


def test_cjk_runs_become_character_pairs_and_other_words_stay_whole():
    assert tokenize("大熊猫") == ["大熊", "熊猫"]
    assert tokenize("猫") == ["猫"], "a lone character is its own term"
    assert tokenize("iPhone手机, 한국어 텍스트") == ["iphone", "手机", "한국어", "텍스트"]
    assert tokenize("東京タワー") == ["東京", "京タ", "タワ", "ワー"]
    assert tokenize("What did BGI set up?") == ["what", "did", "bgi", "set", "up"]


@pytest.mark.parametrize("question", ["熊猫", "大熊猫吃什么？", "茶经 陆羽", "京都のお寺", "猫"],
                         ids=["word", "question", "two-words", "japanese", "lone-character"])
def test_cjk_scores_equal_rank_bm25_on_the_same_terms(question):
    texts = [paragraph for text in (PANDA, TEA, KYOTO) for paragraph in text.split("\n\n")]
    reference = BM25Okapi([tokenize(t) for t in texts]).get_scores(tokenize(question))
    ours = np.zeros(len(texts))
    rows, scores = BM25.build(texts).scores(question)
    ours[rows] = scores
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-6)
