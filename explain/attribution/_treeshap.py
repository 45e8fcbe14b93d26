"""Exact TreeSHAP for tree ensembles, written against the models' own routing.

shap 0.51's ``TreeExplainer`` mis-reads scikit-learn 1.9's
``HistGradientBoosting*`` models (additivity fails, categorical bitset splits
are ignored), and credit-limit explanations must add up to the margin the model
actually produced.  This module flattens fitted trees (scikit-learn, XGBoost,
LightGBM; numerical and categorical splits) into plain arrays that route rows
exactly like the library does, and computes two flavours of exact Shapley
values on them with numba kernels:

* interventional: baseline-Shapley values averaged over a background sample;
* path-dependent: the classic TreeSHAP game whose reference distribution is the
  training data as seen through the node sample counts ("cover").

The players need not be the model's columns: ``owners`` maps each column to a
player (a raw feature), so the columns of a one-hot encoded feature switch
together and a split on any of them is credited to the feature.

Both games are sums of per-leaf product games, whose Shapley values depend on
the explained row only through a bit mask (which of the leaf's players the row
agrees with).  :func:`prepare` tabulates them per leaf and mask once per model
(and background); :func:`explain_prepared` then sweeps each tree's splits once
per row to build every leaf's mask and adds table rows ("v2"-class TreeSHAP).
Leaves with too many players for a table are computed per call.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

__all__ = [
    "TreeEnsemble",
    "predict_margin",
    "PreparedTrees",
    "explain_prepared",
    "interventional_shap",
    "node_players",
    "prepare",
    "path_dependent_shap",
]

# Below this many rows the kernels run serially: waking a thread team costs more than the work, and in a
# threaded server several requests would each wake one.
_PARALLEL_MIN_ROWS = 64



@dataclass(frozen=True, eq=False)
class TreeEnsemble:
    """Trees of a fitted model as flat arrays, routed exactly like the model.

    Exists so that both SHAP kernels (and ``predict_margin``, which proves the
    conversion) work on one representation that does not depend on shap's
    model loaders, which are wrong for scikit-learn 1.9 HistGradientBoosting.

    Node arrays have one entry per node of all trees; child indices are
    absolute (``-1`` at leaves).  ``feature`` indexes the columns of the model
    *inputs* (HistGradientBoosting's internal column reordering is undone).
    ``input_categories`` holds, per input column, the sorted known raw values
    of a categorical column (their position is the code the trees split on) or
    ``None``; empty when no re-encoding is needed.  ``float32_inputs`` marks
    models that compare ``float32(x)`` with their thresholds (sklearn's
    ``DecisionTree`` family).
    """

    tree_offsets: np.ndarray  # (n_trees + 1,) int64: node range of each tree
    left: np.ndarray  # (n_nodes,) int64
    right: np.ndarray  # (n_nodes,) int64
    feature: np.ndarray  # (n_nodes,) int64, -1 at leaves
    threshold: np.ndarray  # (n_nodes,) float64: go left iff x <= threshold
    missing_left: np.ndarray  # (n_nodes,) bool: direction of NaN
    is_categorical: np.ndarray  # (n_nodes,) bool
    bitset_idx: np.ndarray  # (n_nodes,) int64: row of ``bitsets`` = left categories
    known_bitset_idx: np.ndarray  # (n_nodes,) int64: row of known categories, -1 = all
    bitsets: np.ndarray  # (n_bitsets, 8) uint32
    value: np.ndarray  # (n_nodes,) float64, already scaled into margin units
    cover: np.ndarray  # (n_nodes,) float64: training samples reaching the node
    base_offset: float
    n_features: int
    input_categories: tuple = ()
    float32_inputs: bool = False
    zero_below: float = 0.0  # inputs with |x| <= this are read as 0.0 (LightGBM's kZeroThreshold)

    @property
    def n_trees(self) -> int:
        return int(self.tree_offsets.shape[0] - 1)

    @classmethod
    def from_hist_gradient_boosting(cls, model) -> TreeEnsemble:
        """Flatten a fitted binary ``HistGradientBoostingClassifier`` or a regressor.

        The margin reproduced is ``decision_function`` for classifiers and the
        raw (pre-link) prediction for regressors.  Numeric categorical columns
        are re-encoded the way the model's internal ``OrdinalEncoder`` does it,
        unknown values becoming missing; text categories are expected as their
        position among the model's known categories.
        """
        if not hasattr(model, "_predictors"):
            raise ValueError("model is not a fitted HistGradientBoosting estimator")
        if model.n_trees_per_iteration_ != 1:
            raise NotImplementedError(
                "multiclass HistGradientBoostingClassifier is not supported"
            )
        baseline = np.asarray(model._baseline_prediction, dtype=np.float64)
        if baseline.size != 1:
            raise NotImplementedError("only one raw output per iteration is supported")
        n_features = int(model.n_features_in_)

        # The trees see the preprocessor's output: categorical columns first, then
        # numerical ones.  Map those positions back to the caller's columns.
        to_input = np.arange(n_features, dtype=np.int64)
        input_categories: list = [None] * n_features
        pre = getattr(model, "_preprocessor", None)
        if pre is not None:
            to_input = np.full(n_features, -1, dtype=np.int64)
            enc_cols = np.zeros(0, dtype=np.int64)
            for name, trans, cols in pre.transformers_:
                if isinstance(trans, str) and trans == "drop":
                    continue
                src = np.arange(n_features)[np.asarray(cols)]
                to_input[pre.output_indices_[name]] = src
                if name == "encoder":
                    enc_cols = src
            if (to_input < 0).any():
                raise NotImplementedError("unexpected HistGradientBoosting preprocessor")
            encoder = pre.named_transformers_["encoder"]
            for col, cats in zip(enc_cols, encoder.categories_):
                cats = np.asarray(cats)
                if cats.dtype.kind not in "biuf":
                    # Text categories (a pandas ``category`` column): the caller passes each value's
                    # position among the known categories, which is already the code the trees use.
                    known = [c for c in cats.tolist() if not (c is None or (isinstance(c, float) and np.isnan(c)))]
                    input_categories[col] = np.arange(len(known), dtype=np.float64)
                    continue
                cats = cats.astype(np.float64)
                input_categories[col] = cats[~np.isnan(cats)]

        known_bitsets = np.zeros((0, 8), dtype=np.uint32)
        f_idx_map = np.zeros(n_features, dtype=np.int64)
        if model._bin_mapper.is_categorical_ is not None and np.any(
            model._bin_mapper.is_categorical_
        ):
            kb, fmap = model._bin_mapper.make_known_categories_bitsets()
            known_bitsets = np.asarray(kb, dtype=np.uint32).reshape(-1, 8)
            f_idx_map = np.asarray(fmap, dtype=np.int64)

        offsets = [0]
        parts: dict[str, list] = {k: [] for k in (
            "left", "right", "feature", "threshold", "missing_left",
            "is_categorical", "bitset_idx", "value", "cover", "known")}
        bitset_parts = []
        n_bitsets = 0
        for predictors in model._predictors:
            nodes = predictors[0].nodes
            raw_bits = np.asarray(predictors[0].raw_left_cat_bitsets, dtype=np.uint32)
            base = offsets[-1]
            leaf = nodes["is_leaf"].astype(bool)
            cat = nodes["is_categorical"].astype(bool) & ~leaf
            feat_t = nodes["feature_idx"].astype(np.int64)
            parts["left"].append(np.where(leaf, -1, nodes["left"].astype(np.int64) + base))
            parts["right"].append(np.where(leaf, -1, nodes["right"].astype(np.int64) + base))
            parts["feature"].append(np.where(leaf, -1, to_input[feat_t]))
            parts["threshold"].append(nodes["num_threshold"].astype(np.float64))
            parts["missing_left"].append(nodes["missing_go_to_left"].astype(bool))
            parts["is_categorical"].append(cat)
            parts["bitset_idx"].append(
                np.where(cat, nodes["bitset_idx"].astype(np.int64) + n_bitsets, -1))
            # Known-category rows are appended after every tree's left-bitsets;
            # store the per-feature row for now and shift it once all are counted.
            parts["known"].append(np.where(cat, f_idx_map[feat_t], -1))
            parts["value"].append(nodes["value"].astype(np.float64))
            parts["cover"].append(nodes["count"].astype(np.float64))
            bitset_parts.append(raw_bits.reshape(-1, 8))
            n_bitsets += raw_bits.reshape(-1, 8).shape[0]
            offsets.append(base + nodes.shape[0])

        known = np.concatenate(parts["known"]) if parts["known"] else np.zeros(0, np.int64)
        if known_bitsets.shape[0] == 0:
            known = np.full_like(known, -1)
        else:
            known = np.where(known >= 0, known + n_bitsets, -1)
        bitsets = np.ascontiguousarray(
            np.concatenate(bitset_parts + [known_bitsets], axis=0).astype(np.uint32)
            if bitset_parts else known_bitsets
        )
        has_cats = any(c is not None for c in input_categories)
        return cls(
            tree_offsets=np.asarray(offsets, dtype=np.int64),
            left=_cat(parts["left"], np.int64),
            right=_cat(parts["right"], np.int64),
            feature=_cat(parts["feature"], np.int64),
            threshold=_cat(parts["threshold"], np.float64),
            missing_left=_cat(parts["missing_left"], np.bool_),
            is_categorical=_cat(parts["is_categorical"], np.bool_),
            bitset_idx=_cat(parts["bitset_idx"], np.int64),
            known_bitset_idx=np.ascontiguousarray(known, dtype=np.int64),
            bitsets=bitsets,
            value=_cat(parts["value"], np.float64),
            cover=_cat(parts["cover"], np.float64),
            base_offset=float(baseline.reshape(-1)[0]),
            n_features=n_features,
            input_categories=tuple(input_categories) if has_cats else (),
            float32_inputs=False,
        )

    @classmethod
    def from_sklearn_trees(cls, model) -> TreeEnsemble:
        """Flatten a fitted sklearn ``DecisionTree``/``RandomForest``/``GradientBoosting`` model.

        Margins reproduced: ``decision_function`` for a binary
        ``GradientBoostingClassifier``, ``predict`` for the regressors, and
        ``predict_proba[:, 1]`` for binary tree / forest classifiers.
        Mainly here so our kernels can be cross-checked against shap's own
        C++ TreeExplainer, which handles these models correctly.
        """
        from sklearn.ensemble import (
            GradientBoostingClassifier,
            GradientBoostingRegressor,
            RandomForestClassifier,
            RandomForestRegressor,
        )
        from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

        n_features = int(model.n_features_in_)
        if isinstance(model, (GradientBoostingClassifier, GradientBoostingRegressor)):
            if model.estimators_.shape[1] != 1:
                raise NotImplementedError("multiclass GradientBoostingClassifier is not supported")
            if not (isinstance(model.init_, str) and model.init_ == "zero"):
                from sklearn.dummy import DummyClassifier, DummyRegressor

                if not isinstance(model.init_, (DummyClassifier, DummyRegressor)):
                    raise NotImplementedError("only constant init estimators are supported")
            base = float(model._raw_predict_init(np.zeros((1, n_features)))[0, 0])
            trees = [est.tree_ for est in model.estimators_[:, 0]]
            scale = float(model.learning_rate)
            column = 0
        elif isinstance(model, (DecisionTreeClassifier, DecisionTreeRegressor,
                                RandomForestClassifier, RandomForestRegressor)):
            estimators = model.estimators_ if hasattr(model, "estimators_") else [model]
            trees = [est.tree_ for est in estimators]
            if any(t.n_outputs != 1 for t in trees):
                raise NotImplementedError("multi-output trees are not supported")
            column = 0
            if isinstance(model, (DecisionTreeClassifier, RandomForestClassifier)):
                if len(model.classes_) != 2:
                    raise NotImplementedError("multiclass tree classifiers are not supported")
                column = 1
            base = 0.0
            scale = 1.0 / len(trees)
        else:
            raise TypeError(f"unsupported model type {type(model).__name__}")

        offsets = [0]
        lefts, rights, feats, thrs, miss, vals, covs = [], [], [], [], [], [], []
        for tree in trees:
            base_idx = offsets[-1]
            lc = tree.children_left.astype(np.int64)
            leaf = lc < 0
            lefts.append(np.where(leaf, -1, lc + base_idx))
            rights.append(np.where(leaf, -1, tree.children_right.astype(np.int64) + base_idx))
            feats.append(np.where(leaf, -1, tree.feature.astype(np.int64)))
            thrs.append(tree.threshold.astype(np.float64))
            mgl = getattr(tree, "missing_go_to_left", None)
            miss.append(np.zeros(lc.shape[0], bool) if mgl is None else mgl.astype(bool))
            v = tree.value[:, 0, :]
            if column == 1:
                # Classifier trees store class fractions (sklearn >= 1.4); normalise
                # anyway so older count-valued trees give the same probabilities.
                v = v[:, 1] / v.sum(axis=1)
            else:
                v = v[:, 0]
            vals.append(v.astype(np.float64) * scale)
            covs.append(tree.weighted_n_node_samples.astype(np.float64))
            offsets.append(base_idx + lc.shape[0])
        return _numeric_ensemble(cls, offsets, lefts, rights, feats, thrs, miss, vals, covs,
                                 base_offset=base, n_features=n_features)


def _from_xgboost(cls, model) -> TreeEnsemble:  # noqa: ANN001 - cls is TreeEnsemble
    """Flatten a fitted binary XGBoost classifier (or its Booster), numerical and categorical splits.

    XGBoost routes ``float32(x) < split`` left and NaN to the default child; in our ``<=`` form that is
    the largest float32 below the split, compared on float32-rounded inputs. Leaf values and covers
    (hessian sums, as XGBoost's own TreeSHAP uses) are taken as stored. Categorical splits (inputs are
    the category codes) send the listed codes right. Multi-class and non-tree boosters raise
    ``NotImplementedError`` (the caller falls back to shap).
    """
    import json

    booster = model.get_booster() if hasattr(model, "get_booster") else model
    learner = json.loads(bytes(booster.save_raw(raw_format="json")))["learner"]
    booster_kind = learner["gradient_booster"]["name"]
    if booster_kind != "gbtree":
        raise NotImplementedError(f"XGBoost booster {booster_kind!r} is not supported")
    objective = learner["objective"]["name"]
    if objective not in ("binary:logistic", "binary:logitraw", "reg:squarederror", "reg:logistic"):
        raise NotImplementedError(f"XGBoost objective {objective!r} is not supported")
    trees_json = learner["gradient_booster"]["model"]["trees"]
    if any(info != 0 for info in learner["gradient_booster"]["model"]["tree_info"]):
        raise NotImplementedError("multi-output XGBoost models are not supported")
    base_score = float(str(learner["learner_model_param"]["base_score"]).strip("[]"))
    if objective in ("binary:logistic", "reg:logistic"):
        base_score = float(np.log(base_score) - np.log1p(-base_score))  # stored as a probability
    offsets = [0]
    lefts, rights, feats, thrs, miss, vals, covs, cats = [], [], [], [], [], [], [], []
    bitsets: list[np.ndarray] = []
    for tree in trees_json:
        base_idx = offsets[-1]
        lc = np.asarray(tree["left_children"], dtype=np.int64)
        leaf = lc < 0
        split = np.asarray(tree["split_conditions"], dtype=np.float32)
        lefts.append(np.where(leaf, -1, lc + base_idx))
        rights.append(np.where(leaf, -1, np.asarray(tree["right_children"], dtype=np.int64) + base_idx))
        feats.append(np.where(leaf, -1, np.asarray(tree["split_indices"], dtype=np.int64)))
        thrs.append(np.nextafter(split, np.float32(-np.inf)).astype(np.float64))
        miss.append(np.asarray(tree["default_left"], dtype=bool))
        vals.append(np.where(leaf, split.astype(np.float64), 0.0))
        covs.append(np.asarray(tree["sum_hessian"], dtype=np.float64))
        node_bits = np.full(lc.shape[0], -1, dtype=np.int64)
        if any(tree["split_type"]):
            # XGBoost sends the listed categories right and every other valid code left (missing values
            # to the default child): our bitsets list the left ones.
            for k, node in enumerate(tree["categories_nodes"]):
                start, size = tree["categories_segments"][k], tree["categories_sizes"][k]
                right_codes = np.asarray(tree["categories"][start:start + size], dtype=np.int64)
                if right_codes.size and (right_codes.max() >= 256 or right_codes.min() < 0):
                    raise NotImplementedError("XGBoost categorical splits on codes beyond 255")
                bits = _bitset_of(np.setdiff1d(np.arange(256), right_codes))
                node_bits[node] = len(bitsets)
                bitsets.append(bits)
        cats.append(node_bits)
        offsets.append(base_idx + lc.shape[0])
    return _assemble(cls, offsets, lefts, rights, feats, thrs, miss, vals, covs, cats, bitsets,
                     base_offset=base_score, n_features=int(booster.num_features()), float32_inputs=True)


def _bitset_of(codes: np.ndarray) -> np.ndarray:
    """The 8 x 32-bit set of category codes (0..255) the kernels test with ``_in_bitset``."""
    bits = np.zeros(8, dtype=np.uint32)
    codes = np.asarray(codes, dtype=np.int64)
    # Vectorised: hundreds of categorical splits per model, read at every start-up.
    np.bitwise_or.at(bits, codes >> 5, np.left_shift(np.uint32(1), (codes & 31).astype(np.uint32)))
    return bits


def _from_lightgbm(cls, model) -> TreeEnsemble:  # noqa: ANN001 - cls is TreeEnsemble
    """Flatten a fitted binary LightGBM classifier (or its Booster), numerical and categorical splits.

    Read from ``dump_model()``. LightGBM compares ``x <= threshold`` in double precision; a NaN goes to
    the default child when the split's missing type is NaN and is read as 0.0 otherwise. A categorical
    split sends the listed codes left and everything else (unseen, negative, missing) right. Covers are
    the data counts, as LightGBM's own contribution kernel uses. Zero-as-missing, linear trees,
    random-forest mode and multi-class raise ``NotImplementedError`` (the caller falls back to shap).
    """
    booster = model.booster_ if hasattr(model, "booster_") else model
    dump = booster.dump_model()
    if dump.get("num_tree_per_iteration", 1) != 1 or dump.get("num_class", 1) != 1:
        raise NotImplementedError("multi-class LightGBM models are not supported")
    if dump.get("average_output"):
        raise NotImplementedError("LightGBM random-forest mode is not supported")
    objective = str(dump.get("objective", "")).split(" ")[0]
    if objective not in ("binary", "regression", "regression_l2", "cross_entropy", "xentropy", "huber", "fair",
                         "regression_l1", "quantile", "mape"):
        raise NotImplementedError(f"LightGBM objective {objective!r} is not supported")
    offsets = [0]
    lefts, rights, feats, thrs, miss, vals, covs, cats = [], [], [], [], [], [], [], []
    bitsets: list[np.ndarray] = []
    for info in dump["tree_info"]:
        nodes: list[dict] = []
        children: list[list[int]] = []

        def visit(node: dict) -> int:
            idx = len(nodes)
            nodes.append(node)
            children.append([-1, -1])
            if "split_feature" in node:
                children[idx][0] = visit(node["left_child"])
                children[idx][1] = visit(node["right_child"])
            return idx

        visit(info["tree_structure"])
        base_idx = offsets[-1]
        n = len(nodes)
        l_arr, r_arr = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
        f_arr, t_arr = np.full(n, -1, np.int64), np.zeros(n)
        m_arr, v_arr, c_arr = np.zeros(n, bool), np.zeros(n), np.zeros(n)
        b_arr = np.full(n, -1, np.int64)
        for i, node in enumerate(nodes):
            if "split_feature" not in node:
                if "leaf_coeff" in node:
                    raise NotImplementedError("LightGBM linear trees are not supported")
                v_arr[i] = float(node["leaf_value"])
                c_arr[i] = float(node.get("leaf_count", 0))
                continue
            l_arr[i], r_arr[i] = children[i][0] + base_idx, children[i][1] + base_idx
            f_arr[i] = int(node["split_feature"])
            c_arr[i] = float(node.get("internal_count", 0))
            missing = node.get("missing_type", "None")
            if node["decision_type"] == "==":
                codes = np.asarray([int(c) for c in str(node["threshold"]).split("||")], dtype=np.int64)
                if codes.size and (codes.max() >= 256 or codes.min() < 0):
                    raise NotImplementedError("LightGBM categorical splits on codes beyond 255")
                b_arr[i] = len(bitsets)
                bitsets.append(_bitset_of(codes))
                m_arr[i] = False  # missing, negative and unlisted codes all go right
            elif node["decision_type"] == "<=":
                if missing == "Zero":
                    raise NotImplementedError("LightGBM zero-as-missing splits are not supported")
                t_arr[i] = float(node["threshold"])
                m_arr[i] = bool(node["default_left"]) if missing == "NaN" else bool(0.0 <= t_arr[i])
            else:
                raise NotImplementedError(f"LightGBM decision type {node['decision_type']!r}")
        lefts.append(l_arr)
        rights.append(r_arr)
        feats.append(f_arr)
        thrs.append(t_arr)
        miss.append(m_arr)
        vals.append(v_arr)
        covs.append(c_arr)
        cats.append(b_arr)
        offsets.append(base_idx + n)
    ens = _assemble(cls, offsets, lefts, rights, feats, thrs, miss, vals, covs, cats, bitsets,
                    base_offset=0.0, n_features=int(dump["max_feature_idx"]) + 1, float32_inputs=False)
    # LightGBM reads any |x| <= kZeroThreshold (1e-35f) as an exact zero before routing.
    return dataclasses.replace(ens, zero_below=float(np.float32(1e-35)))


def _assemble(cls, offsets, lefts, rights, feats, thrs, miss, vals, covs, cats, bitsets, *,  # noqa: ANN001
              base_offset, n_features, float32_inputs):
    """Assemble per-tree arrays; ``cats`` holds per node the row of its left-category bitset or -1."""
    bitset_idx = _cat(cats, np.int64)
    return cls(
        tree_offsets=np.asarray(offsets, dtype=np.int64),
        left=_cat(lefts, np.int64),
        right=_cat(rights, np.int64),
        feature=_cat(feats, np.int64),
        threshold=_cat(thrs, np.float64),
        missing_left=_cat(miss, np.bool_),
        is_categorical=np.ascontiguousarray(bitset_idx >= 0),
        bitset_idx=bitset_idx,
        known_bitset_idx=np.full(bitset_idx.shape[0], -1, dtype=np.int64),
        bitsets=np.ascontiguousarray(np.asarray(bitsets, dtype=np.uint32).reshape(-1, 8)),
        value=_cat(vals, np.float64),
        cover=_cat(covs, np.float64),
        base_offset=base_offset,
        n_features=n_features,
        input_categories=(),
        float32_inputs=float32_inputs,
    )


def _numeric_ensemble(cls, offsets, lefts, rights, feats, thrs, miss, vals, covs, *, base_offset, n_features):  # noqa: ANN001
    """Assemble per-tree arrays of a model with numerical splits only, compared on float32 inputs."""
    cats = [np.full(len(v), -1, dtype=np.int64) for v in vals]
    return _assemble(cls, offsets, lefts, rights, feats, thrs, miss, vals, covs, cats, [],
                     base_offset=base_offset, n_features=n_features, float32_inputs=True)


TreeEnsemble.from_xgboost = classmethod(_from_xgboost)
TreeEnsemble.from_lightgbm = classmethod(_from_lightgbm)


def _cat(parts: list, dtype) -> np.ndarray:
    if not parts:
        return np.zeros(0, dtype=dtype)
    return np.ascontiguousarray(np.concatenate(parts).astype(dtype, copy=False))


def _prepare_inputs(ens: TreeEnsemble, X) -> np.ndarray:
    """Bring caller rows into the value space the trees split on.

    Per-column re-encoding cannot change attributions: a column's Shapley value
    is the same whether the game sees the raw value or its code.
    """
    X = np.array(X, dtype=np.float64, order="C", copy=True, ndmin=2)
    if X.ndim != 2 or X.shape[1] != ens.n_features:
        raise ValueError(f"expected a 2-D array with {ens.n_features} columns, got {X.shape}")
    for col, cats in enumerate(ens.input_categories):
        if cats is None:
            continue
        v = X[:, col]
        if cats.shape[0] == 0:
            X[:, col] = np.nan
            continue
        # The code of a category is its position in ``cats``; sort only to search.
        order = np.argsort(cats, kind="stable")
        pos = np.minimum(np.searchsorted(cats[order], v), cats.shape[0] - 1)
        hit = cats[order][pos] == v
        # OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=nan).
        X[:, col] = np.where(hit, order[pos].astype(np.float64), np.nan)
    if ens.zero_below > 0.0:
        X[np.abs(X) <= ens.zero_below] = 0.0
    if ens.float32_inputs:
        with np.errstate(over="ignore"):
            X = X.astype(np.float32).astype(np.float64)
    return X


def _tree_arrays(ens: TreeEnsemble) -> tuple:
    return (
        ens.tree_offsets, ens.left, ens.right, ens.feature, ens.threshold,
        ens.missing_left, ens.is_categorical, ens.bitset_idx,
        ens.known_bitset_idx, ens.bitsets,
    )


# --------------------------------------------------------------------------- routing


@njit(cache=True, inline="always")
def _in_bitset(bitsets, row, code):
    return (bitsets[row, code >> 5] >> np.uint32(code & 31)) & np.uint32(1) == np.uint32(1)


@njit(cache=True, inline="always")
def _goes_left(node, v, feature, threshold, missing_left, is_categorical,
               bitset_idx, known_bitset_idx, bitsets):
    # Mirrors sklearn/ensemble/_hist_gradient_boosting/_predictor.pyx: negative
    # and unknown categories are routed like missing values, not "not in set".
    if np.isnan(v):
        return missing_left[node]
    if is_categorical[node]:
        if v < 0.0 or v >= 256.0:
            return missing_left[node]
        code = np.int64(v)
        if _in_bitset(bitsets, bitset_idx[node], code):
            return True
        kb = known_bitset_idx[node]
        if kb < 0 or _in_bitset(bitsets, kb, code):
            return False
        return missing_left[node]
    return v <= threshold[node]


@njit(cache=True)
def _row_directions(x, out, left, feature, threshold, missing_left, is_categorical,
                    bitset_idx, known_bitset_idx, bitsets):
    # One pass over all nodes is cheaper than re-deciding a split every time the
    # kernels revisit it (once per background row or leaf below it).
    for node in range(left.shape[0]):
        if left[node] < 0:
            out[node] = 0
        else:
            out[node] = 1 if _goes_left(
                node, x[feature[node]], feature, threshold, missing_left,
                is_categorical, bitset_idx, known_bitset_idx, bitsets) else 0


@njit(cache=True, parallel=True)
def _directions(X, left, feature, threshold, missing_left, is_categorical,
                bitset_idx, known_bitset_idx, bitsets):
    out = np.empty((X.shape[0], left.shape[0]), dtype=np.uint8)
    for i in prange(X.shape[0]):
        _row_directions(X[i], out[i], left, feature, threshold, missing_left,
                        is_categorical, bitset_idx, known_bitset_idx, bitsets)
    return out


@njit(cache=True, parallel=True)
def _margin_kernel(X, tree_offsets, left, right, feature, threshold, missing_left,
                   is_categorical, bitset_idx, known_bitset_idx, bitsets, value):
    n_trees = tree_offsets.shape[0] - 1
    out = np.zeros(X.shape[0])
    for i in prange(X.shape[0]):
        acc = 0.0
        for t in range(n_trees):
            node = tree_offsets[t]
            while left[node] >= 0:
                if _goes_left(node, X[i, feature[node]], feature, threshold, missing_left,
                              is_categorical, bitset_idx, known_bitset_idx, bitsets):
                    node = left[node]
                else:
                    node = right[node]
            acc += value[node]
        out[i] = acc
    return out


def predict_margin(ens: TreeEnsemble, X) -> np.ndarray:
    """Raw margin of the flattened model, to prove the flattening is faithful.

    Parameters
    ----------
    ens : TreeEnsemble
    X : array of shape (n_rows, n_features)
        Model inputs (float64, NaN allowed).

    Returns
    -------
    ndarray of shape (n_rows,)
    """
    Xp = _prepare_inputs(ens, X)
    (offs, left, right, feat, thr, ml, cat, bi, kbi, bits) = _tree_arrays(ens)
    return ens.base_offset + _margin_kernel(Xp, offs, left, right, feat, thr, ml, cat,
                                            bi, kbi, bits, ens.value)


# --------------------------------------------------------------------------- interventional


def _max_depth(ens: TreeEnsemble) -> int:
    return int(_max_depth_kernel(ens.tree_offsets, ens.left, ens.right))


@njit(cache=True)
def _max_depth_kernel(tree_offsets, left, right):
    # Sizes the kernels' fixed stacks; walks from each root rather than relying
    # on a parent-before-child node layout.
    n_nodes = left.shape[0]
    depth = np.zeros(n_nodes, dtype=np.int64)
    stack = np.empty(n_nodes + 1, dtype=np.int64)
    best = 0
    for t in range(tree_offsets.shape[0] - 1):
        if tree_offsets[t + 1] == tree_offsets[t]:
            continue
        root = tree_offsets[t]
        depth[root] = 0
        stack[0] = root
        sp = 1
        while sp > 0:
            sp -= 1
            node = stack[sp]
            if left[node] >= 0:
                depth[left[node]] = depth[node] + 1
                depth[right[node]] = depth[node] + 1
                stack[sp] = left[node]
                stack[sp + 1] = right[node]
                sp += 2
            elif depth[node] > best:
                best = depth[node]
    return best


# --------------------------------------------------------------------------- players and leaf paths


def node_players(ens: TreeEnsemble, owners=None) -> np.ndarray:
    """The player each split is credited to: ``owners[feature]`` (a raw feature), ``-1`` at leaves.

    A raw feature encoded into several model columns (one-hot) is one player: a split on any of its
    columns is routed on that column but credited to the raw feature, and the feature's columns take the
    account's or the reference's values together.
    """
    if owners is None:
        owners = np.arange(ens.n_features, dtype=np.int64)
    owners = np.asarray(owners, dtype=np.int64)
    if owners.shape != (ens.n_features,):
        raise ValueError(f"owners must map each of the {ens.n_features} model columns to a player")
    return np.ascontiguousarray(np.where(ens.feature >= 0, owners[np.maximum(ens.feature, 0)], -1))


@njit(cache=True)
def _leaf_paths(tree_offsets, left, right, node_player, cover, max_depth):
    """Per-leaf path summaries that do not depend on the explained row.

    For each leaf: its path nodes with the direction taken and the slot of the
    node's player among the leaf's unique players, and per unique player the
    product of cover ratios (the probability that a row with the player
    unknown follows the path).
    """
    n_nodes = left.shape[0]
    parent = np.full(n_nodes, -1, dtype=np.int64)
    n_leaves = 0
    for node in range(n_nodes):
        if left[node] >= 0:
            parent[left[node]] = node
            parent[right[node]] = node
        else:
            n_leaves += 1
    cap = max(max_depth, 1)
    leaf_node = np.empty(n_leaves, dtype=np.int64)
    path_len = np.zeros(n_leaves, dtype=np.int64)
    path_node = np.zeros((n_leaves, cap), dtype=np.int64)
    path_left = np.zeros((n_leaves, cap), dtype=np.uint8)
    path_slot = np.zeros((n_leaves, cap), dtype=np.int64)
    n_unique = np.zeros(n_leaves, dtype=np.int64)
    uniq_player = np.zeros((n_leaves, cap), dtype=np.int64)
    uniq_r = np.ones((n_leaves, cap))
    reach = np.zeros(n_leaves)  # cover(leaf) / cover(root) via the path ratios
    leaf_of_node = np.full(n_nodes, -1, dtype=np.int64)
    up_node = np.empty(cap, dtype=np.int64)
    up_left = np.empty(cap, dtype=np.uint8)
    up_ratio = np.empty(cap)
    li = 0
    for node in range(n_nodes):
        if left[node] >= 0:
            continue
        leaf_node[li] = node
        leaf_of_node[node] = li
        child = node
        k = 0
        while parent[child] >= 0:
            par = parent[child]
            up_node[k] = par
            up_left[k] = 1 if left[par] == child else 0
            up_ratio[k] = cover[child] / cover[par] if cover[par] > 0 else 0.0
            k += 1
            child = par
        # Slots are numbered from the root down (a player's slot is its first appearance on the way to
        # the leaf), so a depth-first walk of the tree can build the same masks as it descends.
        p = 1.0
        for j in range(k):
            par = up_node[k - 1 - j]
            f = node_player[par]
            slot = -1
            for s in range(n_unique[li]):
                if uniq_player[li, s] == f:
                    slot = s
                    break
            if slot < 0:
                slot = n_unique[li]
                uniq_player[li, slot] = f
                n_unique[li] += 1
            uniq_r[li, slot] *= up_ratio[k - 1 - j]
            p *= up_ratio[k - 1 - j]
            path_node[li, j] = par
            path_left[li, j] = up_left[k - 1 - j]
            path_slot[li, j] = slot
        path_len[li] = k
        reach[li] = p
        li += 1
    return (leaf_node, path_len, path_node, path_left, path_slot, n_unique, uniq_player, uniq_r, reach,
            leaf_of_node)


def _coalition_weights(max_d: int) -> tuple[np.ndarray, np.ndarray]:
    """Shapley weights of a leaf reached with a x-only and b z-only players.

    ``wx[a, b] = (a-1)! b! / (a+b)!`` and ``wz[a, b] = a! (b-1)! / (a+b)!``,
    built from exact binomials so deep trees do not need factorials.
    """
    n = max_d + 1
    comb = np.zeros((2 * n + 1, 2 * n + 1))
    for i in range(2 * n + 1):
        comb[i, 0] = 1.0
        for j in range(1, i + 1):
            comb[i, j] = comb[i - 1, j - 1] + comb[i - 1, j]
    wx = np.zeros((n + 1, n + 1))
    wz = np.zeros((n + 1, n + 1))
    for a in range(n + 1):
        for b in range(n + 1):
            if a > 0:
                wx[a, b] = 1.0 / (a * comb[a + b, a])
            if b > 0:
                wz[a, b] = 1.0 / (b * comb[a + b, b])
    return wx, wz


@njit(cache=True)
def _popcount(m):
    n = 0
    while m:
        m &= m - 1
        n += 1
    return n


# --------------------------------------------------------------------------- leaf games
#
# Both meanings decompose over leaves: the model is a sum of leaf indicators, and a leaf is reached by a
# coalition S exactly when every player on its path lets it through. Per player g of the leaf's path,
# ``a_g`` says whether the explained row x satisfies all of g's conditions on the path; in the
# path-dependent game an absent player lets the path through with probability ``r_g`` (its cover ratios),
# in the interventional game a background row z does with ``b_g`` (0 or 1). A leaf's game is therefore a
# product game, its Shapley values depend on x only through the bit mask of the a_g, and they can be
# tabulated per leaf and mask once per model (and per background): "v2"-class TreeSHAP. A call then costs
# one routing pass plus, per leaf, a mask and d table additions.


@njit(cache=True)
def _pd_leaf(v, d, a, r, gl_u, gl_w, fac, out):
    """Add the path-dependent Shapley values of one leaf's product game to ``out`` (slot order).

    The leaf's game is a product of per-player factors (a_g if g is known, r_g if not). Player s gets
    ``v (a_s - r_s) sum_k w(k) e_k``, with ``e_k`` the coefficients of ``prod_{g != s} (r_g + a_g t)`` and
    ``w(k) = k! (d-k-1)! / d! = int_0^1 u^k (1-u)^(d-1-k) du``; so the sum is the integral over [0, 1] of
    ``prod_{g != s} (r_g (1-u) + a_g u)``, a polynomial of degree d-1 that Gauss-Legendre quadrature with
    ceil(d/2) nodes integrates exactly.
    """
    m = (d + 1) // 2
    for j in range(m):
        u = gl_u[m, j]
        w = v * gl_w[m, j]
        # Product of all factors but s's, as prefix times suffix: no division, zero factors need no care.
        prefix = 1.0
        for g in range(d):
            fac[g] = prefix
            prefix *= r[g] * (1.0 - u) + a[g] * u
        suffix = w
        for s in range(d - 1, -1, -1):
            out[s] += (a[s] - r[s]) * fac[s] * suffix
            suffix *= r[s] * (1.0 - u) + a[s] * u


def _gauss_legendre(max_d: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights on [0, 1], row m holding the m-point rule (m = 1 .. ceil(max_d / 2))."""
    n = max(1, (max_d + 1) // 2) + 1
    u = np.zeros((n, n))
    w = np.zeros((n, n))
    for m in range(1, n):
        x, wt = np.polynomial.legendre.leggauss(m)
        u[m, :m] = (x + 1.0) / 2.0
        w[m, :m] = wt / 2.0
    return u, w


@njit(cache=True)
def _pd_tables(value, leaf_node, n_unique, uniq_r, gl_u, gl_w, tab_off, table_size):
    table = np.zeros(table_size)
    cap = uniq_r.shape[1]
    a = np.empty(cap, dtype=np.uint8)
    fac = np.empty(cap)
    for li in range(leaf_node.shape[0]):
        off = tab_off[li]
        if off < 0:
            continue
        d = n_unique[li]
        v = value[leaf_node[li]]
        for mask in range(1 << d):
            for s in range(d):
                a[s] = (mask >> s) & 1
            _pd_leaf(v, d, a, uniq_r[li], gl_u, gl_w, fac, table[off + mask * d: off + (mask + 1) * d])
    return table


@njit(cache=True)
def _leaf_mask(dirs, li, path_len, path_node, path_left, path_slot, full):
    mask = full
    for k in range(path_len[li]):
        if dirs[path_node[li, k]] != path_left[li, k]:
            mask &= ~(np.int64(1) << path_slot[li, k])
    return mask


@njit(cache=True)
def _iv_patterns(zdir, leaf_node, path_len, path_node, path_left, path_slot, n_unique):
    """Per leaf, the distinct background masks (b_g bits) and their shares of the background."""
    n_bg = zdir.shape[0]
    n_leaves = leaf_node.shape[0]
    buf = np.empty(n_bg, dtype=np.int64)
    counts = np.zeros(n_leaves + 1, dtype=np.int64)
    for li in range(n_leaves):
        full = (np.int64(1) << n_unique[li]) - 1
        for b in range(n_bg):
            buf[b] = _leaf_mask(zdir[b], li, path_len, path_node, path_left, path_slot, full)
        srt = np.sort(buf)
        n = 1
        for b in range(1, n_bg):
            if srt[b] != srt[b - 1]:
                n += 1
        counts[li + 1] = counts[li] + n
    pat_mask = np.empty(counts[n_leaves], dtype=np.int64)
    pat_w = np.zeros(counts[n_leaves])
    for li in range(n_leaves):
        full = (np.int64(1) << n_unique[li]) - 1
        for b in range(n_bg):
            buf[b] = _leaf_mask(zdir[b], li, path_len, path_node, path_left, path_slot, full)
        srt = np.sort(buf)
        p = counts[li]
        pat_mask[p] = srt[0]
        pat_w[p] = 1.0
        for b in range(1, n_bg):
            if srt[b] != srt[b - 1]:
                p += 1
                pat_mask[p] = srt[b]
            pat_w[p] += 1.0
        for q in range(counts[li], counts[li + 1]):
            pat_w[q] /= n_bg
    return counts, pat_mask, pat_w


@njit(cache=True)
def _iv_tables(value, leaf_node, n_unique, pat_off, pat_mask, pat_w, wx, wz, tab_off, table_size):
    table = np.zeros(table_size)
    for li in range(leaf_node.shape[0]):
        off = tab_off[li]
        if off < 0:
            continue
        d = n_unique[li]
        full = (np.int64(1) << d) - 1
        v = value[leaf_node[li]]
        for p in range(pat_off[li], pat_off[li + 1]):
            b = pat_mask[p]
            w = v * pat_w[p]
            xm = full & ~b  # x-only players: every mask that reaches the leaf with z must contain them
            nx = _popcount(xm)
            sub = b
            while True:
                amask = xm | sub
                zm = b & ~sub  # z-only players
                nz = _popcount(zm)
                if nx + nz > 0:
                    px = w * wx[nx, nz]
                    pz = w * wz[nx, nz]
                    base = off + amask * d
                    for s in range(d):
                        bit = np.int64(1) << s
                        if xm & bit:
                            table[base + s] += px
                        elif zm & bit:
                            table[base + s] -= pz
                if sub == 0:
                    break
                sub = (sub - 1) & b
    return table


@njit(cache=True)
def _node_slots(tree_offsets, left, right, node_player, max_depth):
    """Per split: the slot of its player on the way from the root (first appearance numbering) and
    whether the player appears there for the first time. Also checks children follow their parent in
    node order, which lets a call sweep each tree's nodes in order instead of keeping a stack."""
    n_nodes = left.shape[0]
    node_slot = np.zeros(n_nodes, dtype=np.int64)
    node_new = np.zeros(n_nodes, dtype=np.uint8)
    cap = max(max_depth, 1) + 1
    ordered = True
    st_node = np.empty(2 * cap + 2, dtype=np.int64)
    st_n = np.empty(2 * cap + 2, dtype=np.int64)
    players = np.empty(cap, dtype=np.int64)
    for t in range(tree_offsets.shape[0] - 1):
        if tree_offsets[t + 1] == tree_offsets[t]:
            continue
        st_node[0] = tree_offsets[t]
        st_n[0] = 0
        sp = 1
        while sp > 0:
            sp -= 1
            node = st_node[sp]
            n = st_n[sp]
            lc = left[node]
            if lc < 0:
                continue
            if lc <= node or right[node] <= node:
                ordered = False
            p = node_player[node]
            slot = -1
            for s in range(n):
                if players[s] == p:
                    slot = s
                    break
            if slot < 0:
                slot = n
                players[n] = p
                n += 1
                node_new[node] = 1
            node_slot[node] = slot
            # Depth first: the right child's subtree is walked after the left's, whose players sit in
            # ``players`` beyond ``n`` only, so the first ``n`` entries are still this node's path.
            st_node[sp] = right[node]
            st_n[sp] = n
            st_node[sp + 1] = lc
            st_n[sp + 1] = n
            sp += 2
    return node_slot, node_new, ordered


@njit(cache=True)
def _leaf_fallback(acc, mask, li, d, full, v, a, fac, tmp, uniq_player, interventional, uniq_r, gl_u, gl_w,
                   pat_off, pat_mask, pat_w, wx, wz):
    """A leaf with too many players for a table: its Shapley values computed for this row's mask."""
    if not interventional:
        for s in range(d):
            a[s] = (mask >> s) & 1
            tmp[s] = 0.0
        _pd_leaf(v, d, a, uniq_r[li], gl_u, gl_w, fac, tmp)
        for s in range(d):
            acc[uniq_player[li, s]] += tmp[s]
        return
    for q in range(pat_off[li], pat_off[li + 1]):
        b = pat_mask[q]
        if (mask | b) != full:
            continue
        xm = mask & ~b
        zm = b & ~mask
        nx = _popcount(xm)
        nz = _popcount(zm)
        if nx + nz == 0:
            continue
        w = v * pat_w[q]
        px = w * wx[nx, nz]
        pz = w * wz[nx, nz]
        for s in range(d):
            bit = np.int64(1) << s
            if xm & bit:
                acc[uniq_player[li, s]] += px
            elif zm & bit:
                acc[uniq_player[li, s]] -= pz


_CHUNK = 64  # rows per block: one tree's tables are read by all of them while in cache

# The serial and the parallel driver are two functions on purpose: numba's on-disk cache is keyed by the
# Python function, not by the ``parallel`` flag, so ``njit(parallel=True)(f)`` and ``njit(f)`` of one ``f``
# load whichever was compiled first, for both, in every later process.


@njit(cache=True)
def _explain_block(X, phi, margin, lo, hi, mask_at, a, fac, tmp, tree_offsets, left, right, feature, threshold, missing_left, is_categorical, bitset_idx,
        known_bitset_idx, bitsets, value, node_slot, node_new, int_nodes, int_off, leaf_node, leaf_off, n_unique,
        uniq_player, tab_off, table, interventional, uniq_r, gl_u, gl_w, pat_off, pat_mask, pat_w, wx, wz):
    """Rows ``lo:hi``, tree by tree and node by node, each node's work done for every row of the block.

    Per tree, the splits are swept in node order (children follow parents), each handing its children the
    leaf-masks under construction: the child a row goes to keeps the bit of the split's player, the other
    child clears it (branch-free: the direction is data, not control flow). Then every leaf reads each
    row's mask and adds its table row. A node's data is loaded once for the whole block, the rows are
    independent work, and one tree's tables stay in cache while the block reads them.
    """
    nb = hi - lo
    for i in range(lo, hi):
        margin[i] = 0.0
    for t in range(tree_offsets.shape[0] - 1):
        root = tree_offsets[t]
        for r in range(nb):
            mask_at[0, r] = 0
        for k in range(int_off[t], int_off[t + 1]):
            node = int_nodes[k]
            bit = np.int64(1) << node_slot[node]
            new = np.int64(node_new[node]) * bit
            f = feature[node]
            thr = threshold[node]
            plain = not is_categorical[node]
            src = node - root
            lc = left[node] - root
            rc = right[node] - root
            for r in range(nb):
                mask = mask_at[src, r] | new
                drop = mask & ~bit
                v = X[lo + r, f]
                if plain and not np.isnan(v):
                    go = v <= thr
                else:
                    go = _goes_left(node, v, feature, threshold, missing_left, is_categorical, bitset_idx,
                                    known_bitset_idx, bitsets)
                sel = -np.int64(go)
                mask_at[lc, r] = (mask & sel) | (drop & ~sel)
                mask_at[rc, r] = (drop & sel) | (mask & ~sel)
        for li in range(leaf_off[t], leaf_off[t + 1]):
            node = leaf_node[li]
            col = node - root
            d = n_unique[li]
            full = (np.int64(1) << d) - 1
            v = value[node]
            off = tab_off[li]
            for r in range(nb):
                mask = mask_at[col, r]
                if mask == full:
                    margin[lo + r] += v  # the one leaf of this tree that the row itself reaches
                if off >= 0:
                    base = off + mask * d
                    for s in range(d):
                        phi[lo + r, uniq_player[li, s]] += table[base + s]
                elif d > 0 and v != 0.0:
                    _leaf_fallback(phi[lo + r], mask, li, d, full, v, a, fac, tmp, uniq_player,
                                   interventional, uniq_r, gl_u, gl_w, pat_off, pat_mask, pat_w, wx, wz)


@njit(cache=True)
def _explain_rows_serial(X, phi, margin, max_tree_nodes, tree_offsets, left, right, feature, threshold, missing_left, is_categorical, bitset_idx,
        known_bitset_idx, bitsets, value, node_slot, node_new, int_nodes, int_off, leaf_node, leaf_off, n_unique,
        uniq_player, tab_off, table, interventional, uniq_r, gl_u, gl_w, pat_off, pat_mask, pat_w, wx, wz):
    cap = uniq_r.shape[1] + 1
    mask_at = np.empty((max_tree_nodes, _CHUNK), dtype=np.int64)
    a = np.empty(cap, dtype=np.uint8)
    fac = np.empty(cap)
    tmp = np.empty(cap)
    n_rows = X.shape[0]
    for lo in range(0, n_rows, _CHUNK):
        _explain_block(X, phi, margin, lo, min(n_rows, lo + _CHUNK), mask_at, a, fac, tmp, tree_offsets, left, right, feature, threshold, missing_left, is_categorical, bitset_idx,
        known_bitset_idx, bitsets, value, node_slot, node_new, int_nodes, int_off, leaf_node, leaf_off, n_unique,
        uniq_player, tab_off, table, interventional, uniq_r, gl_u, gl_w, pat_off, pat_mask, pat_w, wx, wz)


@njit(cache=True, parallel=True)
def _explain_rows_parallel(X, phi, margin, max_tree_nodes, tree_offsets, left, right, feature, threshold, missing_left, is_categorical, bitset_idx,
        known_bitset_idx, bitsets, value, node_slot, node_new, int_nodes, int_off, leaf_node, leaf_off, n_unique,
        uniq_player, tab_off, table, interventional, uniq_r, gl_u, gl_w, pat_off, pat_mask, pat_w, wx, wz):
    cap = uniq_r.shape[1] + 1
    n_rows = X.shape[0]
    n_chunks = (n_rows + _CHUNK - 1) // _CHUNK
    for c in prange(n_chunks):
        mask_at = np.empty((max_tree_nodes, _CHUNK), dtype=np.int64)
        a = np.empty(cap, dtype=np.uint8)
        fac = np.empty(cap)
        tmp = np.empty(cap)
        _explain_block(X, phi, margin, c * _CHUNK, min(n_rows, (c + 1) * _CHUNK), mask_at, a, fac, tmp,
                       tree_offsets, left, right, feature, threshold, missing_left, is_categorical, bitset_idx,
        known_bitset_idx, bitsets, value, node_slot, node_new, int_nodes, int_off, leaf_node, leaf_off, n_unique,
        uniq_player, tab_off, table, interventional, uniq_r, gl_u, gl_w, pat_off, pat_mask, pat_w, wx, wz)


# --------------------------------------------------------------------------- prepared explainers

# Per-leaf tables hold 2**d * d numbers for a leaf with d players on its path. Deep leaves (many players)
# are computed per call instead, and the total is capped so a deep forest cannot exhaust memory.
_TABLE_MAX_PLAYERS = 8
_TABLE_BUDGET = 1 << 25  # float64 entries, 256 MiB
_MAX_PLAYERS_PER_PATH = 62  # bit masks are int64


@dataclass(frozen=True, eq=False)
class PreparedTrees:
    """Everything about one model (and, interventional, one background) that no explained row changes.

    Built once per loaded model, so both one account (the service) and a batch pay only for their rows.
    """

    ens: TreeEnsemble
    interventional: bool
    n_players: int
    node_slot: np.ndarray
    node_new: np.ndarray
    max_tree_nodes: int
    int_nodes: np.ndarray  # the splits, in node order
    int_off: np.ndarray  # (n_trees + 1,) range of each tree's splits in int_nodes
    leaf_off: np.ndarray  # (n_trees + 1,) range of each tree's leaves
    base: float  # expected value: cover-weighted (path-dependent) or the background's mean margin
    leaf_node: np.ndarray
    path_len: np.ndarray
    path_node: np.ndarray
    path_left: np.ndarray
    path_slot: np.ndarray
    n_unique: np.ndarray
    uniq_player: np.ndarray
    uniq_r: np.ndarray
    tab_off: np.ndarray
    table: np.ndarray
    gl_u: np.ndarray  # Gauss-Legendre nodes on [0, 1], row m: the m-point rule
    gl_w: np.ndarray
    pat_off: np.ndarray
    pat_mask: np.ndarray
    pat_w: np.ndarray
    wx: np.ndarray
    wz: np.ndarray

    @property
    def tabulated_share(self) -> float:
        """Share of the leaves answered from precomputed tables (the rest are computed per call)."""
        return float(np.mean(self.tab_off >= 0)) if self.tab_off.size else 1.0


def _table_offsets(n_unique: np.ndarray, max_players: int, cost=None) -> tuple[np.ndarray, int]:
    sizes = np.where(n_unique <= max_players, (2 ** np.minimum(n_unique, 30)) * n_unique, -1)
    if cost is not None:
        sizes = np.where(cost <= 1 << 16, sizes, -1)  # the interventional build work per leaf, bounded
    tab_off = np.full(n_unique.shape[0], -1, dtype=np.int64)
    used = 0
    for li in np.flatnonzero(sizes >= 0):
        if used + sizes[li] > _TABLE_BUDGET:
            break
        tab_off[li] = used
        used += int(sizes[li])
    return tab_off, used


def prepare(ens: TreeEnsemble, *, background=None, owners=None, n_players: int | None = None) -> PreparedTrees:
    """Prepare exact TreeSHAP for ``ens``: interventional against ``background``, else path-dependent.

    Parameters
    ----------
    ens : TreeEnsemble
    background : array of shape (n_background, n_features), optional
        Model-space reference rows; given, the interventional meaning is prepared.
    owners : array of shape (n_features,), optional
        The player (raw feature) of each model column; by default each column is its own player.
    n_players : int, optional
        Number of players (default ``max(owners) + 1``).
    """
    players = node_players(ens, owners)
    if n_players is None:
        n_players = int(players.max()) + 1 if players.size and players.max() >= 0 else ens.n_features
    max_d = _max_depth(ens)
    (leaf_node, path_len, path_node, path_left, path_slot, n_unique, uniq_player, uniq_r,
     reach, leaf_of_node) = _leaf_paths(ens.tree_offsets, ens.left, ens.right, players, ens.cover, max_d)
    if n_unique.size and n_unique.max() > _MAX_PLAYERS_PER_PATH:
        raise NotImplementedError(f"trees with more than {_MAX_PLAYERS_PER_PATH} players on one path")
    node_slot, node_new, ordered = _node_slots(ens.tree_offsets, ens.left, ens.right, players, max_d)
    if not ordered:
        raise NotImplementedError("trees whose children do not follow their parent in node order")
    int_nodes = np.flatnonzero(ens.left >= 0).astype(np.int64)
    trees = np.arange(ens.n_trees + 1)
    int_off = np.searchsorted(np.searchsorted(ens.tree_offsets, int_nodes, side="right") - 1, trees).astype(np.int64)
    leaf_off = np.searchsorted(np.searchsorted(ens.tree_offsets, leaf_node, side="right") - 1, trees).astype(np.int64)
    wx, wz = _coalition_weights(max(max_d, 1))
    gl_u, gl_w = _gauss_legendre(max_d)
    empty_i, empty_f = np.zeros(1, dtype=np.int64), np.zeros(0)
    if background is None:
        tab_off, size = _table_offsets(n_unique, _TABLE_MAX_PLAYERS)
        table = _pd_tables(ens.value, leaf_node, n_unique, uniq_r, gl_u, gl_w, tab_off, size)
        base = ens.base_offset + float(np.sum(ens.value[leaf_node] * reach))
        pat_off, pat_mask, pat_w = np.zeros(leaf_node.shape[0] + 1, dtype=np.int64), empty_i, empty_f
    else:
        Zp = _prepare_inputs(ens, background)
        if Zp.shape[0] == 0:
            raise ValueError("background must contain at least one row")
        (offs, left, right, feat, thr, ml, cat, bi, kbi, bits) = _tree_arrays(ens)
        zdir = _directions(Zp, left, feat, thr, ml, cat, bi, kbi, bits)
        pat_off, pat_mask, pat_w = _iv_patterns(zdir, leaf_node, path_len, path_node, path_left, path_slot,
                                                n_unique)
        # Work to tabulate a leaf: sum over its distinct background masks of 2**|mask| * d.
        cost = np.zeros(leaf_node.shape[0])
        if pat_mask.size:
            bits_set = np.array([int(m).bit_count() for m in pat_mask.tolist()], dtype=np.float64)
            per_pat = np.exp2(bits_set) * np.repeat(n_unique, np.diff(pat_off))
            cost = np.add.reduceat(per_pat, pat_off[:-1]) if leaf_node.size else cost
        tab_off, size = _table_offsets(n_unique, _TABLE_MAX_PLAYERS, cost)
        table = _iv_tables(ens.value, leaf_node, n_unique, pat_off, pat_mask, pat_w, wx, wz, tab_off, size)
        base = ens.base_offset + float(np.mean(
            _margin_kernel(Zp, offs, left, right, feat, thr, ml, cat, bi, kbi, bits, ens.value)))
    return PreparedTrees(
        ens=ens, interventional=background is not None, n_players=int(n_players), base=base,
        node_slot=node_slot, node_new=node_new, max_tree_nodes=int(np.diff(ens.tree_offsets).max(initial=1)),
        int_nodes=int_nodes, int_off=int_off, leaf_off=leaf_off,
        leaf_node=leaf_node, path_len=path_len, path_node=path_node, path_left=path_left, path_slot=path_slot,
        n_unique=n_unique, uniq_player=uniq_player, uniq_r=uniq_r, tab_off=tab_off, table=table, gl_u=gl_u, gl_w=gl_w,
        pat_off=pat_off, pat_mask=pat_mask, pat_w=pat_w, wx=wx, wz=wz,
    )


def explain_prepared(prep: PreparedTrees, X, *, prepared_inputs: bool = False) -> tuple[np.ndarray, float, np.ndarray]:
    """Exact Shapley values of ``X``'s rows, the base value, and each row's margin from the same trees.

    Returns
    -------
    phi : ndarray of shape (n_rows, n_players)
    base : float
    margin : ndarray of shape (n_rows,)
        The flattened model's own margin (``base + phi.sum(1)`` equals it up to rounding).
    """
    ens = prep.ens
    Xp = X if prepared_inputs else _prepare_inputs(ens, X)
    n = Xp.shape[0]
    phi = np.zeros((n, prep.n_players))
    margin = np.empty(n)
    # A few rows do not repay waking a thread team (it costs more than the work in a busy server).
    kernel = _explain_rows_parallel if n >= _PARALLEL_MIN_ROWS else _explain_rows_serial
    kernel(Xp, phi, margin, prep.max_tree_nodes, ens.tree_offsets, ens.left, ens.right, ens.feature, ens.threshold,
           ens.missing_left, ens.is_categorical, ens.bitset_idx, ens.known_bitset_idx, ens.bitsets, ens.value,
           prep.node_slot, prep.node_new, prep.int_nodes, prep.int_off, prep.leaf_node, prep.leaf_off, prep.n_unique,
           prep.uniq_player, prep.tab_off,
           prep.table, prep.interventional, prep.uniq_r, prep.gl_u, prep.gl_w, prep.pat_off, prep.pat_mask, prep.pat_w, prep.wx,
           prep.wz)
    return phi, prep.base, margin + ens.base_offset


# --------------------------------------------------------------------------- one-shot helpers


@functools.lru_cache(maxsize=8)
def _cached_path_dependent(ens: TreeEnsemble, owners: tuple | None) -> PreparedTrees:
    return prepare(ens, owners=None if owners is None else np.asarray(owners))


def interventional_shap(ens: TreeEnsemble, X, background, *, owners=None) -> tuple[np.ndarray, float]:
    """Exact interventional TreeSHAP against a background sample.

    ``phi[i]`` is the mean over background rows ``z`` of the baseline-Shapley
    values of ``v(S) = f(x_S, z_notS)``, where the players are the raw features
    given by ``owners`` (all of a player's columns switch together), so
    ``base + phi.sum(1)`` equals the margin of every row exactly.

    Parameters
    ----------
    ens : TreeEnsemble
    X : array of shape (n_rows, n_features)
        Rows to explain (model inputs, NaN allowed).
    background : array of shape (n_background, n_features), or PreparedTrees
        Reference rows (prepare them once with :func:`prepare` when calling repeatedly).
    owners : array of shape (n_features,), optional
        Player of each model column; each column its own player by default.

    Returns
    -------
    phi : ndarray of shape (n_rows, n_players)
    base : float
        Mean margin over ``background``.
    """
    prep = background if isinstance(background, PreparedTrees) else prepare(ens, background=background, owners=owners)
    phi, base, _ = explain_prepared(prep, X)
    return phi, base


def path_dependent_shap(ens: TreeEnsemble, X, *, owners=None) -> tuple[np.ndarray, float]:
    """Exact path-dependent (cover-weighted) TreeSHAP.

    Uses the classic TreeSHAP game, in which a player outside the coalition
    follows both children in proportion to their training sample counts, so
    no background data is needed.

    Parameters
    ----------
    ens : TreeEnsemble
    X : array of shape (n_rows, n_features)
        Rows to explain (model inputs, NaN allowed).
    owners : array of shape (n_features,), optional
        Player of each model column; each column its own player by default.

    Returns
    -------
    phi : ndarray of shape (n_rows, n_players)
    base : float
        Cover-weighted mean leaf value plus the model's baseline.
    """
    key = None if owners is None else tuple(int(o) for o in owners)
    phi, base, _ = explain_prepared(_cached_path_dependent(ens, key), X)
    return phi, base
