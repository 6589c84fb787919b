"""The retrain chain: the training window, early-window features, late-window PnL, the targets (a join
of those) and the model checkpoint. Rebuilt by the daily retrain or on demand, not every hour."""

from hypertrack_pipeline.defs.factory import step_asset
from hypertrack_pipeline.ml import steps as ml_steps
from hypertrack_pipeline.ml import targets, windows

wallet_training_window = step_asset(windows.WINDOW_STEP)
wallet_features_early = step_asset(windows.EARLY_STEP)
wallet_pnl_late = step_asset(windows.LATE_STEP)
wallet_training_targets = step_asset(targets.STEP)
wallet_model = step_asset(ml_steps.MODEL_STEP)
