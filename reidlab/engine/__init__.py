"""reidlab.engine"""
