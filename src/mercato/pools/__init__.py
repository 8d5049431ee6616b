"""mercato.pools"""
