"""Spreading survey soft labels to unrated tracks over a k-NN graph of audio features.
Pure: numpy, scipy.sparse and scikit-learn; arrays in, dataclasses out.

1. Graph (`knn_graph`): standardise the audio descriptors, project to at most 32 principal
   components (distances barely change; the search gets cheaper), and find each track's k
   nearest neighbours. Up to `exact_limit` tracks this is exact (scikit-learn brute force).
   Beyond, an inverted-file search (the IVF idea of Jegou et al. 2011, "Product quantization
   for nearest neighbor search", IEEE TPAMI 33(1), without the quantisation): k-means cells
   over a sample, every cell's members compared by BLAS with the members of the `n_probe`
   cells nearest to it. bench/propagation.py reports its recall against exact search.
   Edge weights use self-tuning local scales (Zelnik-Manor & Perona 2004):
   w_ij = exp(-d_ij^2 / (sigma_i sigma_j)), sigma_i = distance to the i-th track's k-th
   neighbour; the graph is symmetrised (W + W^T) / 2.
2. Spreading (`spread`): Zhou, Bousquet, Lal, Weston & Schoelkopf (2004), "Learning with local
   and global consistency", NIPS 16: S = D^-1/2 W D^-1/2, iterate F <- alpha S F + (1 - alpha) Y
   with sparse products, Y holding the survey soft labels (zero rows for unlabelled tracks).
   The soft label of a track is its row of F normalised to sum to one (the population prior
   where no label mass arrives at all: a component without any survey). One extra column, a
   "background" mass `background * labelled_fraction` injected at every track, measures how
   little label mass reaches a track: confidence = label mass / (label + background mass).
   (Mixing that background into the label itself, i.e. shrinking toward the prior, was tried
   and raised held-out JSD on the synthetic catalog, so it only drives the confidence.)
   alpha = 0.8 by default: on the synthetic catalog (studies/crowd.py) with 2-10% labelled,
   held-out JSD was best at 0.5-0.8 and clearly worse at Zhou's 0.99, which over-smooths.
   Labelled tracks keep their survey label with confidence 1: the survey always wins.
3. Evaluation (`evaluate`): k-fold over the labelled tracks (graph built once); each fold's
   labels are hidden, spread from the rest, and compared with the hidden survey labels (mean
   Jensen-Shannon divergence, top-1 agreement) next to three baselines on the same folds: the
   population prior, supervised k-NN on the labelled tracks only, and scikit-learn's
   LabelSpreading(kernel="knn") on the arg-max labels.
4. Tuning, publish gate and uncertainty (`cross_validate`): k and alpha are chosen by k-fold CV
   on the labelled tracks over a small grid, supervised k-NN's k over the same ks. The result may
   be published only if its per-track held-out JSD beats the population prior and the tuned
   k-NN with a paired percentile-bootstrap 95% interval of the mean difference below zero
   (Efron & Tibshirani 1993). Validity: folds are random over labelled tracks (tracks of one
   artist can fall on both sides, which flatters every method alike); the chosen settings are
   scored on the folds that chose them, an optimism both tuned methods share. Each propagated
   label's uncertainty is a *predicted held-out JSD*: least squares of the actual held-out JSD
   on the label's normalised entropy, 1 - spreading confidence and the disagreement with its
   nearest labelled tracks, fitted on the folds; its Spearman correlation with the actual error
   is computed out of fold and reported. Stored confidence = 1 - predicted JSD.
"""

# Modules: graph (features, k-NN graph, affinity), spreading (spread, propagate), evaluation
# (evaluate, gate, cross-validation, uncertainty). Import each name from its module.
