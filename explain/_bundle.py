"""A model bundle: the model, the lender's catalog, profile and translations, its background, and a manifest
that pins them all by hash.

Every reason is only as meaningful as the model, the grouping and the reference population behind it, and
every notice is signed by the lender in the lender's own words, so they travel together and an audit record names them by hash. Loading re-hashes every file and refuses
a bundle that changed. Model files use formats that cannot run code on load (skops for scikit-learn,
JSON/UBJ for XGBoost, text for LightGBM); pickle and joblib load only when the caller says the file is trusted.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from explain.catalog._catalog import FeatureCatalog
from explain._exceptions import BundleError, CatalogError
from explain.notices._locales import BASE_LOCALES, SUPPORTED_LOCALES
from explain.catalog._phrasebook import TRANSLATIONS_DIR, Phrasebook
from explain.notices._profile import LenderProfile

__all__ = ["ModelBundle", "save_bundle"]

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
_MODEL_FILES = {"skops": "model.skops", "xgboost-json": "model.json", "xgboost-ubj": "model.ubj",
                "lightgbm-text": "model.txt", "pickle": "model.pkl", "joblib": "model.joblib"}
_UNSAFE_FORMATS = {"pickle", "joblib"}
# Types inside a skops file that we accept beyond skops' own defaults, by exact name: the fitted internals of
# the scikit-learn pipelines this toolkit explains (tree arrays, HGB predictors, dtypes, the validator a
# fitted imputer keeps). skops lists every function a `partial` wraps as a type of its own, so allowing
# `partial` admits no function outside this list. Anything else (builtins.eval, ...) needs trusted=True.
_SKOPS_ALLOWED = frozenset({
    "functools.partial",
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
    "sklearn.utils.validation.check_array",
})


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _deterministic_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps and order, so the same model gives the same bytes every run."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for name in sorted(source.namelist()):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(name))
    return out.getvalue()


_SKOPS_ID = re.compile(r'("__id__": )(\d+)|"(\d+)\.npy"')


def _canonical_skops(data: bytes) -> bytes:
    """skops names objects and array files by memory address; renumber them in schema order.

    The renumbering is one consistent map, so shared references stay shared; only the names change.
    """
    source = zipfile.ZipFile(io.BytesIO(data))
    schema = source.read("schema.json").decode("utf-8")
    ids: dict[str, str] = {}

    def canonical(raw: str) -> str:
        return ids.setdefault(raw, str(len(ids) + 1))

    def replace(match: re.Match[str]) -> str:
        if match.group(2) is not None:
            return match.group(1) + canonical(match.group(2))
        return f'"{canonical(match.group(3))}.npy"'

    schema = _SKOPS_ID.sub(replace, schema)
    renamed = io.BytesIO()
    with zipfile.ZipFile(renamed, "w") as target:
        for name in source.namelist():
            if name == "schema.json":
                target.writestr(name, schema)
            elif name.endswith(".npy") and name[:-4] in ids:
                target.writestr(f"{ids[name[:-4]]}.npy", source.read(name))
            else:
                target.writestr(name, source.read(name))
    return _deterministic_zip(renamed.getvalue())


def _serialise_model(model: Any, fmt: str) -> bytes:
    if fmt == "skops":
        import skops.io as sio

        return _canonical_skops(sio.dumps(model))
    if fmt in ("xgboost-json", "xgboost-ubj"):
        raw = model.get_booster().save_raw(raw_format="json" if fmt == "xgboost-json" else "ubj")
        return bytes(raw)
    if fmt == "lightgbm-text":
        booster = getattr(model, "booster_", model)
        return booster.model_to_string().encode("utf-8")
    if fmt == "pickle":
        import pickle

        return pickle.dumps(model, protocol=5)
    if fmt == "joblib":
        import joblib

        buf = io.BytesIO()
        joblib.dump(model, buf)
        return buf.getvalue()
    raise BundleError("(new bundle)", f"unknown model format {fmt!r}; expected one of {', '.join(_MODEL_FILES)}")


def _default_format(model: Any) -> str:
    module = type(model).__module__
    if module.startswith("xgboost"):
        return "xgboost-json"
    if module.startswith("lightgbm"):
        return "lightgbm-text"
    if module.startswith("sklearn"):
        return "skops"
    raise BundleError("(new bundle)", f"no safe file format for a {type(model).__name__}; pass model_format='pickle'")


def _lender_files(lender: str | Path | None, catalog_path: str | Path | None, profile_path: str | Path | None,
                  translations: str | Path | None) -> tuple[Path, Path, Path]:
    """The catalog, profile and translations folder a new bundle takes, checked before anything is written."""
    if lender is not None:
        lender = Path(lender)
        catalog_path = catalog_path or lender / "catalog.toml"
        profile_path = profile_path or lender / "profile.toml"
        translations = translations or lender / TRANSLATIONS_DIR
    if catalog_path is None:
        raise BundleError("(new bundle)", "needs the lender's folder (lender=...) or a catalog_path")
    if profile_path is None:
        raise BundleError("(new bundle)", "needs a lender profile (lender=... or profile_path=...): every notice is "
                                          "signed by the lender, never by the demo's")
    catalog_path, profile_path = Path(catalog_path), Path(profile_path)
    translations = Path(translations) if translations is not None else catalog_path.parent / TRANSLATIONS_DIR
    for what, file in (("catalog", catalog_path), ("profile", profile_path)):
        if not file.is_file():
            raise BundleError("(new bundle)", f"the {what} file {str(file)!r} does not exist")
    if not translations.is_dir():
        raise BundleError("(new bundle)", f"the translations folder {str(translations)!r} does not exist; "
                                          "create it with `explain phrases update`")
    phrases = Phrasebook.from_dir(translations)
    catalog = FeatureCatalog.from_toml(catalog_path, translations=phrases)
    profile = LenderProfile.from_toml(profile_path, translations=phrases)
    _refuse_unsendable(catalog, phrases, jurisdiction=profile.legal.jurisdiction)
    return catalog_path, profile_path, translations


def _refuse_unsendable(catalog: FeatureCatalog, phrases: Phrasebook, *, jurisdiction: str | None) -> None:
    """Refuse a catalog whose text must never reach a customer (placeholders such as ``TODO``) or, when
    ``jurisdiction`` is given (a new bundle), that gives a factor its law forbids as a reason."""
    from explain.catalog._catalog_check import customer_text_problems, forbidden_factor_problems

    problems = customer_text_problems(catalog, phrases)
    if jurisdiction is not None:
        problems += forbidden_factor_problems(catalog, (jurisdiction,))
    if problems:
        more = f" (and {len(problems) - 1} more; run `explain catalog check`)" if len(problems) > 1 else ""
        where, _, problem = problems[0].partition(": ")
        raise CatalogError(where, problem + more)


def save_bundle(
    path: str | Path,
    *,
    model: Any,
    background: pd.DataFrame,
    name: str,
    version: str,
    lender: str | Path | None = None,
    catalog_path: str | Path | None = None,
    profile_path: str | Path | None = None,
    translations: str | Path | None = None,
    higher_is: str = "risk",
    tree_mode: str | None = None,
    model_format: str | None = None,
    link: str | None = None,
    description: str = "",
    extra: dict[str, Any] | None = None,
) -> ModelBundle:
    """Write a bundle folder and return it loaded.

    ``lender`` is the lender's own folder: ``catalog.toml``, ``profile.toml`` and ``translations/<locale>.po``
    (or give ``catalog_path``, ``profile_path`` and ``translations`` one by one). Every phrase must be
    translated in every supported locale; that is checked before anything is written. ``link="logit"`` says a
    plain callable returns probabilities (attribution then runs in log-odds), as :class:`~explain.Explainer`'s.
    """
    catalog_file, profile_file, translations_dir = _lender_files(lender, catalog_path, profile_path, translations)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    fmt = model_format or _default_format(model)
    files = {
        _MODEL_FILES[fmt]: _serialise_model(model, fmt),
        "catalog.toml": catalog_file.read_bytes(),
        "profile.toml": profile_file.read_bytes(),
        # the base locales always (a missing one fails below, naming it), zh_HK / zh_TW where the lender has them
        **{f"{TRANSLATIONS_DIR}/{locale}.po": (translations_dir / f"{locale}.po").read_bytes()
           for locale in SUPPORTED_LOCALES
           if locale in BASE_LOCALES or (translations_dir / f"{locale}.po").is_file()},
        # A fixed float format and line ending: the background's hash is part of every reason's meaning.
        "background.csv": background.to_csv(index=False, lineterminator="\n", float_format="%.17g").encode("utf-8"),
    }
    dtypes = background_dtypes(background)
    (path / TRANSLATIONS_DIR).mkdir(exist_ok=True)
    for filename, data in files.items():
        (path / filename).write_bytes(data)
    manifest = {
        "format_version": FORMAT_VERSION,
        "name": name,
        "version": version,
        "description": description,
        "higher_is": higher_is,
        "tree_mode": tree_mode,
        **({"link": link} if link is not None else {}),
        "model": {"file": _MODEL_FILES[fmt], "format": fmt},
        "catalog": "catalog.toml",
        "profile": "profile.toml",
        "translations": TRANSLATIONS_DIR,
        "background": "background.csv",
        "features": list(background.columns),
        # CSV keeps values, not types: the columns' dtypes (a category's categories and their order, which
        # XGBoost and LightGBM split on) are recorded so the background reads back as it was given.
        "background_dtypes": dtypes,
        "files": {filename: _sha256(data) for filename, data in sorted(files.items())},
        **(extra or {}),
    }
    (path / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return ModelBundle.load(path, trusted=fmt in _UNSAFE_FORMATS)


@dataclass(frozen=True)
class ModelBundle:
    """A loaded, hash-verified bundle. Use :meth:`load`; :meth:`explainer` builds (once) the Explainer."""

    path: Path
    manifest: dict[str, Any]
    model: Any = field(repr=False)
    catalog: FeatureCatalog = field(repr=False)
    background: pd.DataFrame = field(repr=False)
    profile: LenderProfile = field(repr=False)

    @classmethod
    def load(cls, path: str | Path, *, trusted: bool = False) -> ModelBundle:
        """Read a bundle, verifying every file against the manifest's sha256."""
        path = Path(path)
        manifest_file = path / MANIFEST
        if not manifest_file.is_file():
            raise BundleError(path, f"has no {MANIFEST}; is this a bundle folder?")
        try:
            manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise BundleError(path, f"{MANIFEST} is not valid JSON ({exc})") from exc
        for key in ("name", "version", "model", "catalog", "background", "files", "higher_is"):
            if key not in manifest:
                raise BundleError(path, f"{MANIFEST} lacks the required key {key!r}")
        contents: dict[str, bytes] = {}
        for filename, expected in manifest["files"].items():
            file = path / filename
            if not file.is_file():
                raise BundleError(path, f"file {filename!r} named in the manifest is missing")
            data = file.read_bytes()
            if _sha256(data) != expected:
                raise BundleError(path, f"file {filename!r} does not match its sha256 in the manifest (altered?)")
            contents[filename] = data
        if "profile" not in manifest:
            raise BundleError(path, "has no lender profile (profile.toml): every notice is signed by the lender; "
                                    "rebuild it with save_bundle(..., lender=FOLDER)")
        for role in ("catalog", "background", "profile"):
            if manifest[role] not in contents:
                raise BundleError(path, f"the {role} file {manifest[role]!r} is not hashed in the manifest")
        fmt = manifest["model"]["format"]
        model_file = manifest["model"]["file"]
        if model_file not in contents:
            raise BundleError(path, f"the model file {model_file!r} is not hashed in the manifest")
        if fmt in _UNSAFE_FORMATS and not trusted:
            raise BundleError(path, f"the model is stored as {fmt}, which can run code when loaded; pass trusted=True "
                                    "only if you trust where this file came from")
        model = _load_model(path, fmt, contents[model_file], trusted=trusted)
        translations = manifest.get("translations", TRANSLATIONS_DIR)
        for locale in SUPPORTED_LOCALES:
            # a base locale must be there; an optional one, if its file is there, must be hashed like the rest
            hashed = f"{translations}/{locale}.po" in contents
            if not hashed and (locale in BASE_LOCALES or (path / translations / f"{locale}.po").exists()):
                raise BundleError(path, f"has no hashed translation file {translations}/{locale}.po for locale {locale!r}")
        phrases = Phrasebook.from_dir(path / translations)
        catalog = FeatureCatalog.from_toml(path / manifest["catalog"], translations=phrases)
        profile = LenderProfile.from_toml(path / manifest["profile"], translations=phrases)
        _refuse_unsendable(catalog, phrases, jurisdiction=None)
        background = read_background(contents[manifest["background"]], manifest.get("background_dtypes"), path)
        return cls(path=path, manifest=manifest, model=model, catalog=catalog, background=background, profile=profile)

    # -- identity -----------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.manifest["name"]

    @property
    def version(self) -> str:
        return self.manifest["version"]

    @property
    def higher_is(self) -> str:
        return self.manifest["higher_is"]

    @property
    def tree_mode(self) -> str | None:
        return self.manifest.get("tree_mode")

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(self.background.columns)

    @property
    def files(self) -> dict[str, str]:
        """File name -> sha256, as verified on load."""
        return dict(self.manifest["files"])

    @cached_property
    def sha256(self) -> str:
        """The bundle's identity: a hash over its manifest, which pins every file's hash (the manifest is read
        once and never changed: taken once, not on every request that names the bundle)."""
        canonical = json.dumps(self.manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return _sha256(canonical.encode("utf-8"))

    @property
    def model_sha256(self) -> str:
        return self.manifest["files"][self.manifest["model"]["file"]]

    @property
    def catalog_sha256(self) -> str:
        return self.manifest["files"][self.manifest["catalog"]]

    @property
    def background_sha256(self) -> str:
        return self.manifest["files"][self.manifest["background"]]

    @cached_property
    def _explainer(self) -> Any:
        from explain.attribution._attribution import Explainer

        return Explainer(
            self.model,
            catalog=self.catalog,
            background=self.background,
            higher_is=self.higher_is,
            tree_mode=self.tree_mode,
            random_state=self.manifest.get("random_state", 0),
            link=self.manifest.get("link", "identity"),
        )

    def explainer(self) -> Any:
        """The bundle's :class:`~explain.Explainer`, built once and reused."""
        return self._explainer

    @cached_property
    def _recourse_solver(self) -> Any:
        from explain.recourse._solver import RecourseSolver

        return RecourseSolver(self.explainer(), self.catalog.recourse,
                              kinds={f: s.kind for f, s in self.catalog.features.items()},
                              orders={f: s.order for f, s in self.catalog.features.items()})

    def recourse_solver(self) -> Any:
        """The bundle's :class:`~explain.recourse.RecourseSolver` (catalog actions and targets), built once."""
        return self._recourse_solver

    def describe(self) -> dict[str, Any]:
        """What a caller or auditor needs to know about the bundle, JSON-ready."""
        explainer = self.explainer()
        return {
            "name": self.name,
            "version": self.version,
            "sha256": self.sha256,
            "files": self.files,
            "higher_is": self.higher_is,
            "method": explainer.method,
            "mode": explainer.mode,
            "background_rows": len(self.background),
            "catalog": {"name": self.catalog.name, "version": self.catalog.version, "sha256": self.catalog_sha256},
            "lender": {"name": self.profile.name, "sha256": self.manifest["files"][self.manifest["profile"]]},
            "groups": [
                {"code": g.code, "label": g.label, "features": list(g.features), "protected": g.protected,
                 "actionable": g.actionable, "direction": g.direction}
                for g in self.catalog.groups.values()
            ],
            "policy_reasons": sorted(self.catalog.policy_reasons),
        }


def _plain(values: Any) -> list[Any]:
    """Categories as JSON values (numpy scalars become Python numbers)."""
    return [v.item() if hasattr(v, "item") else v for v in values]


def background_dtypes(background: pd.DataFrame) -> dict[str, Any]:
    """Each column's dtype as JSON: a dtype name, or ``{"categories": [...], "ordered": bool}``."""
    out: dict[str, Any] = {}
    for column, dtype in background.dtypes.items():
        if isinstance(dtype, pd.CategoricalDtype):
            out[str(column)] = {"categories": _plain(dtype.categories.tolist()), "ordered": bool(dtype.ordered)}
        else:
            out[str(column)] = str(dtype)
    return out


def read_background(data: bytes, dtypes: dict[str, Any] | None, path: Path | str = "(bundle)") -> pd.DataFrame:
    """The background CSV with the dtypes recorded when it was written (older bundles: as pandas guesses)."""
    if not dtypes:
        return pd.read_csv(io.BytesIO(data))
    # Text stays text (a category "01" must not become the number 1); numbers parse as numbers.
    text = {c: object for c, d in dtypes.items() if d in ("object", "string", "str")
            or (isinstance(d, dict) and all(isinstance(v, str) for v in d["categories"]))}
    frame = pd.read_csv(io.BytesIO(data), dtype=text, keep_default_na=True)
    if set(frame.columns) != set(dtypes):
        raise BundleError(path, "the background's columns differ from the dtypes recorded in the manifest")
    try:
        return frame.astype({c: pd.CategoricalDtype(d["categories"], ordered=d["ordered"]) if isinstance(d, dict) else d
                             for c, d in dtypes.items() if d != "object"})
    except (TypeError, ValueError) as exc:
        raise BundleError(path, f"the background does not read back with its recorded dtypes ({exc})") from exc


def _load_model(path: Path, fmt: str, data: bytes, *, trusted: bool) -> Any:
    if fmt == "skops":
        import skops.io as sio

        untrusted = sio.get_untrusted_types(data=data)
        unexpected = [t for t in untrusted if t not in _SKOPS_ALLOWED]
        if unexpected and not trusted:
            raise BundleError(path, f"the skops model contains types outside the allowed set: {unexpected}; "
                                    "pass trusted=True only if you trust this file")
        return sio.loads(data, trusted=untrusted)
    if fmt in ("xgboost-json", "xgboost-ubj"):
        import xgboost

        model = xgboost.XGBClassifier()
        model.load_model(bytearray(data))
        return model
    if fmt == "lightgbm-text":
        import lightgbm

        return lightgbm.Booster(model_str=data.decode("utf-8"))
    if fmt == "pickle":
        import pickle

        return pickle.loads(data)  # noqa: S301 - only reached with trusted=True
    if fmt == "joblib":
        import joblib

        return joblib.load(io.BytesIO(data))
    raise BundleError(path, f"unknown model format {fmt!r}; expected one of {', '.join(_MODEL_FILES)}")
