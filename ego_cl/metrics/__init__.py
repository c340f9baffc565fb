"""Online and after-the-fact metrics: accuracies, losses, gains, forgetting, aggregation.

Sees only tensors, numpy/pyarrow tables and ``ego_cl.types``. Modules (one concept each):

- ``prediction_log``: the log schema (``PREDICTION_LOG_SCHEMA``) and the per-step row function
  ``prediction_log_columns(prediction, target, step=, k=)``; ``prediction_log_table``.
- ``scores``: log rows -> per-sample ``SampleScores`` (the single decoding path).
- ``accuracy`` / ``balanced_accuracy`` / ``mean_loss``: the ``Metric`` objects
  (``TopKAccuracy``, ``BalancedAccuracy``, ``MeanLoss``); ``exact_sum``: exact float sums.
- ``metric_set``: ``MetricSet``, the standard online set with flat names.
- ``stream_metrics``: the same values from a saved log (``stream_metrics``, ``metric_curves``,
  ``hindsight_metrics``).
- ``gains``: OAG / HAG per user; ``decorrelation``: decorrelated / correlated accuracy.
- ``aggregation``: mean ± SE, bootstrap CI, paired differences; ``transfer``: transfer matrices.
- ``forgetting``: re-exposure forgetting; ``counts``: label counts; ``near_future``: near-future
  accuracy; ``blind_baseline``: the label-window baseline from a stream's labels.
- ``report_tables``: per-user report rows and their aggregates (used by ``runners.reporting.report``).
"""
