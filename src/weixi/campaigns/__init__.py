"""Campaigns (保客活动): plan, approve, run and measure retention activities. See docs/campaigns.md."""
