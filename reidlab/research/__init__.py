"""reidlab.research"""
