"""Attribution: a model reduced to what explaining it needs, exact TreeSHAP kernels, the Explainer, data sanity."""
