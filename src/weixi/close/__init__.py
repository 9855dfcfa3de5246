"""The monthly close: accrual, expiry, tier evaluation, segmentation and the member snapshot."""
