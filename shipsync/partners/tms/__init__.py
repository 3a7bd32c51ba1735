"""Canonical TMS profile: plan release out (``tms-plan-v1``), planning, carrier
assignment, milestones and freight charges in (``tms-update-v1``). See README.md."""
