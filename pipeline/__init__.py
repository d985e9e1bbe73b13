"""Kaggle CSV batch-prediction pipeline: cached stages from train.csv/test.csv to a submission."""

__version__ = "0.1.0"
