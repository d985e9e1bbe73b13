"""How a network or a boosted model is fitted: used by stages/train.py, which keeps the member/refit loop."""
