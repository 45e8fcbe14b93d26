"""The toy lender both recourse test files explain: four actionable features (a number, money, years that
pass with time, an ordered category) and a protected age the model may use but no suggestion may touch."""

from __future__ import annotations

TOY_CATALOG = {
    "catalog": {"name": "toy", "version": "1"},
    "groups": {
        "usage": {"label": "Usage", "features": ["utilisation"], "direction": "higher_is_riskier", "actionable": True,
                  "adverse": "a", "favourable": "f", "advice": "x"},
        "savings": {"label": "Savings", "features": ["savings"], "direction": "higher_is_safer", "actionable": True,
                    "adverse": "a", "favourable": "f", "advice": "x"},
        "tenure": {"label": "Tenure", "features": ["tenure_years"], "direction": "higher_is_safer",
                   "adverse": "a", "favourable": "f"},
        "channel": {"label": "Channel", "features": ["channel"], "adverse": "a", "favourable": "f"},
        "age": {"label": "Age", "features": ["age"], "protected": True, "adverse": "a", "favourable": "f"},
    },
    "features": {
        "utilisation": {"kind": "number"}, "savings": {"kind": "money"}, "tenure_years": {"kind": "years"},
        "age": {"kind": "years"},
        "channel": {"kind": "category", "order": ["branch", "online", "broker"],
                    "categories": {"branch": "b", "online": "o", "broker": "k"}},
    },
    "recourse": {"max_changes": 2, "suggestions": 2, "targets": {"limit_decrease": 0.3}},
    "actions": {
        "utilisation": {"label": "u", "direction": "decrease", "min_quantile": 0.05},
        "savings": {"label": "s", "direction": "increase", "max": 40, "cost": 0.02},
        "tenure_years": {"label": "t", "direction": "increase", "with_time": True, "max": 12},
        "channel": {"label": "c", "direction": "safer"},
    },
}
