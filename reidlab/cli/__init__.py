"""reidlab.cli"""
