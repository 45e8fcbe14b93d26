"""A fitted tree model read into flat arrays that route rows exactly like the library does.

shap 0.51's ``TreeExplainer`` mis-reads scikit-learn 1.9's ``HistGradientBoosting*`` models (additivity
fails, categorical bitset splits are ignored), and credit-limit explanations must add up to the margin the
model actually produced. This module flattens fitted trees (scikit-learn, XGBoost, LightGBM; numerical and
categorical splits) into one representation that the TreeSHAP kernels (``_treeshap``) work on, routes rows
through it (``predict_margin`` proves the conversion), and maps splits to players (raw features).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

__all__ = ["TreeEnsemble", "node_players", "predict_margin"]


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


# --------------------------------------------------------------------------- tree shape


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
