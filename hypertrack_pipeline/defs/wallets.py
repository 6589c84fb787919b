"""Wallet-level assets refreshed with every new hour: PnL and its reconciliation with the exchange, features,
scores (current model), categories, the trader views (leaderboards, positioning, holders), and the wallets the
recorder polls for account state (tracked_wallets.json).
Each is built from its domain step declaration (reads, writes, column docs): see defs/factory.py."""

from hypertrack_pipeline.classification import store
from hypertrack_pipeline.defs.factory import step_asset
from hypertrack_pipeline.ml import steps as ml_steps
from hypertrack_pipeline.warehouse import partials, pnl, reconcile, tracked, trader_views

wallet_pnl_tables = step_asset(pnl.STEP)
pnl_reconciliation = step_asset(reconcile.STEP)
wallet_features = step_asset(partials.STEP)
wallet_scores = step_asset(ml_steps.SCORES_STEP)
wallet_categories = step_asset(store.STEP)
trader_view_tables = step_asset(trader_views.STEP)
tracked_wallets = step_asset(tracked.STEP)
