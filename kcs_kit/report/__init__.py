"""Evaluation reports for policy staff (``policy.py``): reading accuracy, time to notify, detected and
seized value against inflow, false alarms and workload, by period."""

from kcs_kit.report.policy import PolicyReport, policy_report

__all__ = ["PolicyReport", "policy_report"]
