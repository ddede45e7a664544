"""Operator and developer tools: the local launcher, the mail catcher, catalogue loading."""
